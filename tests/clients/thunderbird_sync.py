#!/usr/bin/env python3
"""Runs a real Thunderbird (Debian `thunderbird`) under Xvfb against an IMAPS
server and reports what it synced.

usage: thunderbird_sync.py --port P --user U --password PW --ca CA.pem
                           --workdir DIR [--expect FOLDER=N ...] [--timeout S]
                           [--all-folders]

Writes a fresh profile into DIR/profile from files: user.js (one IMAP account
on localhost:P over implicit TLS, first-run UI, telemetry and update checks
off), cert9.db trusting CA.pem (certutil, Debian libnss3-tools) and
logins.json holding the password, encrypted with the profile's own key4.db
through NSS's PK11SDR_Encrypt as Thunderbird itself does. With --all-folders
the account's "Show only subscribed folders" is off (using_subscription):
Thunderbird then lists every folder (LIST "" "*") instead of the subscribed
ones (LIST (SUBSCRIBED)). Then starts Xvfb and Thunderbird, and every
second reads Thunderbird's folder cache (folderCache.json: each folder's
message count as Thunderbird's own database holds it) and the X server's
top-level windows, until every --expect folder (its IMAP name) shows its
count, a dialog window (an alert) stays up, or the timeout passes. Prints
one JSON object:

  {"counts": {IMAP name: messages}, "dialogs": [window names],
   "seconds": elapsed, "imap_log": path of Thunderbird's IMAP log}

Exits 0 whatever it found: the caller judges.
"""
import argparse
import base64
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
import uuid

# Top-level windows of a running Thunderbird that are not dialogs: its main
# window (titled "<folder> - <account> - Mozilla Thunderbird") and a hidden
# one named "Thunderbird" ("thunderbird" while it starts).
MAIN_WINDOW_SUFFIX = "Mozilla Thunderbird"
HIDDEN_WINDOW = "thunderbird"
# How long to keep watching for dialogs once every folder shows its count.
SETTLE_SECONDS = 5


def prefs(port, user, subscribed_only):
    return {
        "mail.account.account1.server": "server1",
        "mail.account.account1.identities": "id1",
        "mail.account.account2.server": "server2",
        "mail.accountmanager.accounts": "account1,account2",
        "mail.accountmanager.defaultaccount": "account1",
        "mail.accountmanager.localfoldersserver": "server2",
        "mail.identity.id1.useremail": f"{user}@example.org",
        "mail.identity.id1.fullName": user,
        "mail.server.server1.type": "imap",
        "mail.server.server1.name": "archive",
        "mail.server.server1.hostname": "localhost",
        "mail.server.server1.port": port,
        "mail.server.server1.socketType": 3,  # implicit TLS
        "mail.server.server1.authMethod": 3,  # password, sent as is (inside TLS)
        "mail.server.server1.userName": user,
        "mail.server.server1.directory-rel": "[ProfD]ImapMail/localhost",
        "mail.server.server1.login_at_startup": True,
        "mail.server.server1.check_all_folders_for_new": True,
        "mail.server.server1.using_subscription": subscribed_only,
        "mail.server.server2.type": "none",
        "mail.server.server2.name": "Local Folders",
        "mail.server.server2.hostname": "Local Folders",
        "mail.server.server2.userName": "nobody",
        "mail.server.server2.directory-rel": "[ProfD]Mail/Local Folders",
        # No first-run, update, telemetry or notification UI.
        "mail.shell.checkDefaultClient": False,
        "mail.provider.enabled": False,
        "mail.rights.version": 1,
        "mail.spotlight.firstRunDone": True,
        "mail.biff.show_alert": False,
        "mail.inappnotifications.enabled": False,
        "mailnews.start_page.enabled": False,
        "mailnews.start_page_override.mstone": "ignore",
        "mailnews.auto_config_url": "",
        "app.update.auto": False,
        "app.update.enabled": False,
        "app.update.checkInstallTime": False,
        "app.donation.eoy.version.viewed": 999,
        "extensions.update.enabled": False,
        "datareporting.policy.dataSubmissionEnabled": False,
        "datareporting.healthreport.uploadEnabled": False,
        "toolkit.telemetry.enabled": False,
        "toolkit.telemetry.reportingpolicy.firstRun": False,
        "security.OCSP.enabled": 0,
    }


class SECItem(ctypes.Structure):
    _fields_ = [("type", ctypes.c_uint), ("data", ctypes.c_void_p), ("len", ctypes.c_uint)]


def saved_login(profile, user, password):
    """logins.json with the password as Thunderbird stores it: encrypted
    with the profile's key (key4.db, no primary password)."""
    nss = ctypes.CDLL("libnss3.so")
    nss.NSS_InitReadWrite.argtypes = [ctypes.c_char_p]
    if nss.NSS_InitReadWrite(f"sql:{profile}".encode()) != 0:
        sys.exit("NSS_InitReadWrite failed on the new profile")

    def encrypt(text):
        raw = text.encode()
        buffer = ctypes.create_string_buffer(raw, len(raw))
        data = SECItem(0, ctypes.cast(buffer, ctypes.c_void_p), len(raw))
        out = SECItem(0, None, 0)
        # An empty key id: the profile's default key, made on first use.
        if nss.PK11SDR_Encrypt(ctypes.byref(SECItem(0, None, 0)), ctypes.byref(data),
                               ctypes.byref(out), None) != 0:
            sys.exit("PK11SDR_Encrypt failed")
        return base64.b64encode(ctypes.string_at(out.data, out.len)).decode()

    now = int(time.time() * 1000)
    origin = "imap://localhost"
    login = {
        "id": 1, "hostname": origin, "httpRealm": origin, "formSubmitURL": None,
        "usernameField": "", "passwordField": "",
        "encryptedUsername": encrypt(user), "encryptedPassword": encrypt(password),
        "guid": "{%s}" % uuid.uuid4(), "encType": 1, "timeCreated": now,
        "timeLastUsed": now, "timePasswordChanged": now, "timesUsed": 1,
    }
    nss.NSS_Shutdown()
    return {"nextId": 2, "logins": [login], "potentiallyVulnerablePasswords": [],
            "dismissedBreachAlertsByLoginGUID": {}, "version": 3}


def write_profile(profile, args):
    os.makedirs(profile)
    db = f"sql:{profile}"
    subprocess.run(["certutil", "-N", "-d", db, "--empty-password"], check=True)
    subprocess.run(["certutil", "-A", "-d", db, "-n", "test CA", "-t", "C,,", "-i", args.ca],
                   check=True)
    with open(os.path.join(profile, "logins.json"), "w") as f:
        json.dump(saved_login(profile, args.user, args.password), f)
    with open(os.path.join(profile, "user.js"), "w") as f:
        for name, value in prefs(args.port, args.user, not args.all_folders).items():
            f.write(f"user_pref({json.dumps(name)}, {json.dumps(value)});\n")


def start_xvfb():
    """Xvfb on a display number it picks itself; returns (process, ":N")."""
    read, write = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
        pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    os.close(write)
    with os.fdopen(read) as r:
        number = r.readline().strip()
    if not number:
        sys.exit("Xvfb did not start")
    return xvfb, f":{number}"


def top_level_windows(display):
    out = subprocess.run(["xwininfo", "-root", "-children"], env={**os.environ, "DISPLAY": display},
                         capture_output=True, text=True).stdout
    names = []
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("0x") and '"' in line:
            names.append(line.split('"')[1])
    return names


def dialogs(display):
    return sorted(n for n in top_level_windows(display)
                  if n.lower() != HIDDEN_WINDOW and not n.endswith(MAIN_WINDOW_SUFFIX))


def folder_counts(profile):
    try:
        with open(os.path.join(profile, "folderCache.json")) as f:
            cache = json.load(f)
    except (OSError, ValueError):  # not written yet, or being written
        return {}
    return {entry["onlineName"]: entry.get("totalMsgs", -1)
            for entry in cache.values() if entry.get("onlineName")}


def stop(process):
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--expect", action="append", default=[], metavar="FOLDER=N")
    parser.add_argument("--timeout", type=float, default=240)
    parser.add_argument("--all-folders", action="store_true",
                        help='"Show only subscribed folders" off')
    args = parser.parse_args()
    # Thunderbird takes a relative --profile for a missing profile.
    args.workdir = os.path.abspath(args.workdir)
    expected = {}
    for item in args.expect:
        folder, _, count = item.rpartition("=")
        expected[folder] = int(count)

    profile = os.path.join(args.workdir, "profile")
    write_profile(profile, args)
    imap_log = os.path.join(args.workdir, "imap.log")
    xvfb, display = start_xvfb()
    env = {**os.environ, "DISPLAY": display, "HOME": args.workdir,
           "MOZ_LOG": "IMAP:5,sync", "MOZ_LOG_FILE": imap_log, "MOZ_CRASHREPORTER_DISABLE": "1"}
    started = time.monotonic()
    with open(os.path.join(args.workdir, "thunderbird.out"), "w") as out:
        thunderbird = subprocess.Popen(["thunderbird", "--profile", profile, "--no-remote"],
                                       env=env, stdout=out, stderr=out, start_new_session=True)
    counts, seen, persistent, synced_at = {}, [], set(), None
    try:
        while time.monotonic() - started < args.timeout:
            time.sleep(1)
            now = dialogs(display)
            # A dialog up at two looks in a row is no passing flicker.
            persistent |= set(now) & set(seen)
            seen = now
            counts = folder_counts(profile)
            if persistent or thunderbird.poll() is not None:
                break
            if synced_at is None and all(counts.get(f) == n for f, n in expected.items()):
                synced_at = time.monotonic()
            # Once synced, a few more looks: an alert may trail the last count.
            if synced_at is not None and time.monotonic() - synced_at > SETTLE_SECONDS:
                break
    finally:
        stop(thunderbird)
        stop(xvfb)
    print(json.dumps({"counts": counts, "dialogs": sorted(persistent),
                      "seconds": round(time.monotonic() - started),
                      "imap_log": f"{imap_log}.moz_log"}))


if __name__ == "__main__":
    main()
