//! `make install` and `make uninstall` into a temporary DESTDIR: the exact file list, man pages
//! and completions made from the command line's own definitions, a systemd unit that
//! `systemd-analyze` accepts and rates, and nothing left behind after uninstall.
//!
//! Uses the binary cargo built for the tests (`BIN=`), so no release build is needed here.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn make(target: &str, destdir: &Path, vars: &[&str]) -> Output {
    let output = Command::new("make")
        .arg("-s")
        .arg("-C")
        .arg(env!("CARGO_MANIFEST_DIR"))
        .arg(target)
        .arg(format!("DESTDIR={}", destdir.display()))
        .arg(format!("BIN={}", env!("CARGO_BIN_EXE_framecast")))
        .args(vars)
        .output()
        .expect("make runs");
    assert!(
        output.status.success(),
        "make {target}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Every file under `root`, relative, sorted.
fn files(root: &Path) -> Vec<String> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                out.push(
                    path.strip_prefix(root)
                        .expect("under root")
                        .display()
                        .to_string(),
                );
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

fn read(path: impl AsRef<Path>) -> String {
    fs::read_to_string(path.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", path.as_ref().display()))
}

fn systemd_analyze() -> &'static str {
    let found = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "systemd-analyze is missing: `scripts/deps.sh test` installs it (package systemd)"
    );
    "systemd-analyze"
}

#[test]
fn install_puts_every_file_in_place_and_uninstall_removes_them_all() {
    let dest = tempfile::tempdir().expect("temp dir");
    let root = dest.path();
    make("install", root, &[]);
    assert_eq!(
        files(root),
        [
            "etc/default/framecast",
            "usr/local/bin/framecast",
            "usr/local/lib/systemd/system/framecast.service",
            "usr/local/share/bash-completion/completions/framecast",
            "usr/local/share/fish/vendor_completions.d/framecast.fish",
            "usr/local/share/man/man1/framecast-config.1",
            "usr/local/share/man/man1/framecast-render.1",
            "usr/local/share/man/man1/framecast-serve.1",
            "usr/local/share/man/man1/framecast.1",
            "usr/local/share/zsh/site-functions/_framecast",
        ]
    );

    let bin = root.join("usr/local/bin/framecast");
    let version = Command::new(&bin).arg("--version").output().expect("runs");
    assert!(
        String::from_utf8_lossy(&version.stdout)
            .starts_with(&format!("framecast {}", env!("CARGO_PKG_VERSION")))
    );

    // Made from the clap definitions: every option is there, the hidden command is not.
    let man = read(root.join("usr/local/share/man/man1/framecast-serve.1"));
    assert!(man.starts_with(".ie"), "{man}");
    for option in [
        "listen",
        "interval",
        "FRAMECAST_LISTEN",
        "STREAM",
        "LIMITS",
        "FRAMECAST_CONFIG",
    ] {
        assert!(man.contains(option), "man page lacks {option}");
    }
    for completion in [
        "share/bash-completion/completions/framecast",
        "share/zsh/site-functions/_framecast",
        "share/fish/vendor_completions.d/framecast.fish",
    ] {
        let text = read(root.join("usr/local").join(completion));
        assert!(
            text.contains("serve") && text.contains("listen"),
            "{completion}"
        );
        assert!(
            !text.contains("generate"),
            "{completion} offers the hidden command"
        );
    }
    assert!(!read(root.join("usr/local/share/man/man1/framecast.1")).contains("generate"));

    let unit = read(root.join("usr/local/lib/systemd/system/framecast.service"));
    assert!(
        unit.contains("\nExecStart=/usr/local/bin/framecast serve\n"),
        "{unit}"
    );
    assert_eq!(
        read(root.join("etc/default/framecast")),
        read(Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/framecast.default"))
    );

    make("uninstall", root, &[]);
    assert_eq!(files(root), Vec::<String>::new());
}

#[test]
fn prefix_moves_everything_and_the_unit_follows() {
    let dest = tempfile::tempdir().expect("temp dir");
    let root = dest.path();
    make(
        "install",
        root,
        &["PREFIX=/opt/framecast", "SYSCONFDIR=/opt/etc"],
    );
    let installed = files(root);
    assert_eq!(installed.len(), 10, "{installed:?}");
    assert!(
        installed
            .iter()
            .all(|f| f.starts_with("opt/framecast/") || f == "opt/etc/default/framecast"),
        "{installed:?}"
    );
    let unit = read(root.join("opt/framecast/lib/systemd/system/framecast.service"));
    assert!(unit.contains("\nExecStart=/opt/framecast/bin/framecast serve\n"));
    make(
        "uninstall",
        root,
        &["PREFIX=/opt/framecast", "SYSCONFDIR=/opt/etc"],
    );
    assert_eq!(files(root), Vec::<String>::new());
}

#[test]
fn an_edited_settings_file_is_kept() {
    let dest = tempfile::tempdir().expect("temp dir");
    let root = dest.path();
    let settings = root.join("etc/default/framecast");
    fs::create_dir_all(settings.parent().expect("parent")).expect("mkdir");
    fs::write(&settings, "FRAMECAST_DIRS=/srv/pictures\n").expect("write");
    make("install", root, &["PREFIX=/usr"]);
    assert_eq!(read(&settings), "FRAMECAST_DIRS=/srv/pictures\n");
    let out = make("uninstall", root, &["PREFIX=/usr"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("it was edited"));
    assert_eq!(files(root), ["etc/default/framecast"]);
}

/// The unit as installed, with ExecStart pointed at the DESTDIR copy of the binary, since
/// `systemd-analyze verify` checks that the program exists. No running systemd is needed.
fn installed_unit(root: &Path) -> PathBuf {
    make("install", root, &["PREFIX=/usr"]);
    let bin = root.join("usr/bin/framecast");
    let unit = read(root.join("usr/lib/systemd/system/framecast.service")).replace(
        "ExecStart=/usr/bin/framecast",
        &format!("ExecStart={}", bin.display()),
    );
    let dir = root.join("verify");
    fs::create_dir_all(&dir).expect("mkdir");
    let copy = dir.join("framecast.service");
    fs::write(&copy, unit).expect("write");
    copy
}

#[test]
fn systemd_accepts_the_unit() {
    let analyze = systemd_analyze();
    let dest = tempfile::tempdir().expect("temp dir");
    let unit = installed_unit(dest.path());
    let verify = Command::new(analyze)
        .args(["verify", "--man=no"])
        .arg(&unit)
        .output()
        .expect("systemd-analyze runs");
    let stderr = String::from_utf8_lossy(&verify.stderr);
    assert!(verify.status.success(), "{stderr}");
    // verify reports unknown or misspelled settings as warnings, with the status still 0.
    assert!(!stderr.contains("framecast.service"), "{stderr}");
}

#[test]
fn the_unit_is_well_sandboxed() {
    let analyze = systemd_analyze();
    let dest = tempfile::tempdir().expect("temp dir");
    let unit = installed_unit(dest.path());
    let security = Command::new(analyze)
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(&unit)
        .output()
        .expect("systemd-analyze runs");
    let stdout = String::from_utf8_lossy(&security.stdout);
    assert!(
        security.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&security.stderr)
    );
    // "→ Overall exposure level for framecast.service: 1.2 OK 🙂" (0 best, 10 worst).
    let score: f64 = stdout
        .lines()
        .find_map(|l| l.split("framecast.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{stdout}"));
    println!("systemd-analyze security: exposure {score}");
    assert!(score <= 2.0, "exposure {score}:\n{stdout}");
    for directive in [
        "DynamicUser=",
        "ProtectSystem=",
        "PrivateTmp=",
        "NoNewPrivileges=",
        "MemoryDenyWriteExecute=",
        "LockPersonality=",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.contains(directive))
            .unwrap_or_else(|| panic!("{directive} not rated:\n{stdout}"));
        assert!(line.starts_with('✓'), "{line}");
    }
}
