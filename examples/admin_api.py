#!/usr/bin/env python3
"""Drives archimap's administration API the way MailStore Server admin
scripts do, with the Python standard library only.

It creates a user, grants them read access to their own archive, then
starts a long operation (verifying every archive store, indexes included)
and follows its progress with get-status until it ends.

    ARCHIMAP_API_PASSWORD=... python3 examples/admin_api.py \\
        --url https://127.0.0.1:8463 --user admin \\
        --cafile /var/lib/archimap/tls/self-signed-cert.pem --new-user jdoe
"""

import argparse
import base64
import json
import os
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request


class ApiError(Exception):
    pass


class Api:
    def __init__(self, url, user, password, cafile=None):
        self.url = url.rstrip("/")
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self.headers = {
            "Authorization": f"Basic {token}",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        self.tls = ssl.create_default_context(cafile=cafile)
        if cafile:
            # A self-signed certificate names the server "localhost".
            self.tls.check_hostname = False

    def post(self, path, **args):
        """POSTs form-encoded arguments; returns the JSON envelope."""
        body = urllib.parse.urlencode(
            {k: json.dumps(v) if isinstance(v, (dict, list)) else str(v) for k, v in args.items()}
        ).encode()
        request = urllib.request.Request(self.url + path, data=body, headers=self.headers)
        try:
            with urllib.request.urlopen(request, context=self.tls, timeout=120) as answer:
                return json.load(answer)
        except urllib.error.HTTPError as error:
            envelope = json.load(error)
            raise ApiError(f"HTTP {error.code}: {envelope['error']['message']}") from None

    def invoke(self, function, **args):
        """Calls a function; a long operation is followed until it ends."""
        status = self.post(f"/api/invoke/{function}", **args)
        while status["statusCode"] == "running":
            if status["statusText"]:
                print(f"  {function}: {status['percentProgress'] or 0}% {status['statusText']}")
            status = self.post(
                "/api/get-status",
                token=status["token"],
                lastKnownStatusVersion=status["statusVersion"],
                millisecondsTimeout=5000,
            )
        if status["statusCode"] == "failed":
            raise ApiError(f"{function}: {status['error']['message']}")
        return status["result"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="https://127.0.0.1:8463")
    parser.add_argument("--user", default="admin", help="a user holding the admin privilege")
    parser.add_argument("--cafile", help="the server's certificate, if it is self-signed")
    parser.add_argument("--new-user", default="jdoe")
    options = parser.parse_args()
    password = os.environ.get("ARCHIMAP_API_PASSWORD")
    if not password:
        sys.exit("set ARCHIMAP_API_PASSWORD to the password of --user")
    api = Api(options.url, options.user, password, options.cafile)

    info = api.invoke("GetServerInfo")
    print(f"connected to {info['version']} on {info['machineName']}")
    api.invoke(
        "CreateUser",
        userName=options.new_user,
        privileges="login",
        fullName="Created by the example script",
        password=os.urandom(12).hex(),
    )
    api.invoke("SetUserPrivilegesOnFolder", userName=options.new_user,
               folder=options.new_user, privileges="read")
    user = api.invoke("GetUserInfo", userName=options.new_user)
    print(f"created {user['userName']}: privileges on folders {user['privilegesOnFolders']}")

    report = api.invoke("VerifyStores", includeIndexes=True)
    print("verification finished:", json.dumps(report))


if __name__ == "__main__":
    try:
        main()
    except ApiError as error:
        sys.exit(f"error: {error}")
