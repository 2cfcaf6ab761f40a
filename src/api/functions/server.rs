//! The server itself.

use serde_json::json;

use super::{Call, Function, Outcome, done};
use crate::error::Result;

pub(super) const FUNCTIONS: &[Function] = &[Function {
    name: "GetServerInfo",
    args: &[],
    run: get_server_info,
}];

fn get_server_info(_call: &Call) -> Result<Outcome> {
    done(json!({
        "version": concat!("archimap ", env!("CARGO_PKG_VERSION")),
        "machineName": machine_name(),
    }))
}

fn machine_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .unwrap_or_else(|_| "localhost".to_string())
}
