//! Facts about the build the issue tracker asked for and nothing else would notice
//! slipping: every crate builds with the toolchain the workspace names, and one crypto
//! backend (aws-lc-rs) serves TLS and JWT.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("app/ sits in the workspace")
        .to_path_buf()
}

/// What `cargo ARGS` prints, run in the workspace; the test fails if cargo does.
fn cargo(args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn metadata() -> Value {
    let out = cargo(&[
        "metadata",
        "--format-version",
        "1",
        "--locked",
        "--filter-platform",
        "x86_64-unknown-linux-gnu",
    ]);
    serde_json::from_slice(&out).expect("cargo metadata prints JSON")
}

fn version(v: &str) -> Vec<u64> {
    let mut parts: Vec<u64> = v.split('.').map(|p| p.parse().unwrap_or(0)).collect();
    parts.resize(3, 0);
    parts
}

/// The packages the resolver keeps for Linux, by id.
fn resolved(meta: &Value) -> Vec<&Value> {
    let ids: Vec<&str> = meta["resolve"]["nodes"]
        .as_array()
        .expect("resolve nodes")
        .iter()
        .filter_map(|n| n["id"].as_str())
        .collect();
    meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter(|p| p["id"].as_str().is_some_and(|id| ids.contains(&id)))
        .collect()
}

#[test]
fn every_crate_inherits_a_rust_version_no_dependency_exceeds() {
    let meta = metadata();
    let members: Vec<&str> = meta["workspace_members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let packages = resolved(&meta);
    let ours: Vec<&&Value> = packages
        .iter()
        .filter(|p| members.contains(&p["id"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(ours.len(), members.len());
    let workspace = ours[0]["rust_version"].as_str().unwrap_or_default();
    for p in &ours {
        assert_eq!(
            p["rust_version"].as_str(),
            Some(workspace),
            "{} must inherit rust-version from the workspace",
            p["name"]
        );
        let manifest = std::fs::read_to_string(p["manifest_path"].as_str().expect("path"))
            .expect("manifest reads");
        assert!(
            manifest.contains("rust-version.workspace = true"),
            "{}: rust-version.workspace = true",
            p["name"]
        );
    }
    let needs: Vec<String> = packages
        .iter()
        .filter(|p| {
            p["rust_version"]
                .as_str()
                .is_some_and(|v| version(v) > version(workspace))
        })
        .map(|p| format!("{} {} needs {}", p["name"], p["version"], p["rust_version"]))
        .collect();
    assert!(
        needs.is_empty(),
        "rust-version {workspace} is below what dependencies need: {needs:?}"
    );
}

#[test]
fn one_crypto_backend_serves_tls_and_jwt() {
    // cargo tree, not cargo metadata: metadata's resolve unifies features the way the
    // old resolver did and lists crates that are never compiled.
    let out = cargo(&[
        "tree",
        "--workspace",
        "--locked",
        "-e",
        "normal,build",
        "--prefix",
        "none",
        "--format",
        "{p}",
    ]);
    let tree = String::from_utf8_lossy(&out);
    let names: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(names.contains(&"aws-lc-rs"), "aws-lc-rs is the backend");
    for other in ["ring", "rsa", "p256", "p384", "ed25519-dalek", "openssl"] {
        assert!(
            !names.contains(&other),
            "{other} is compiled beside aws-lc-rs (cargo tree -i {other} says who asks for it)"
        );
    }
}
