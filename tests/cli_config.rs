//! The config file on the real binary: `framecast config` shows each setting with where it
//! comes from (file, then env over it, then a flag over both); a bad key, value or profile
//! names the file, the line and the key; the file is found by `--config`, `FRAMECAST_CONFIG`
//! or in the XDG folder; secrets are never printed; and `framecast serve` with a file serves
//! its defaults and its profiles.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::fixture;

/// A folder for the config file and the state, and nothing of the caller's environment that
/// could change the answer.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        Setup {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Writes `framecast.toml` (in a folder of its own) and returns its path.
    fn file(&self, text: &str) -> PathBuf {
        let path = self.dir.path().join("etc").join("framecast.toml");
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
        path
    }

    fn command(&self, args: &[&str], envs: &[(&str, &str)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_framecast"));
        command.args(args).env_remove("RUST_LOG");
        for (name, _) in std::env::vars() {
            if name.starts_with("FRAMECAST_") {
                command.env_remove(name);
            }
        }
        command
            .env("FRAMECAST_STATE_DIR", self.dir.path().join("state"))
            .env("XDG_CONFIG_HOME", self.dir.path().join("xdg"))
            .envs(envs.iter().copied());
        command
    }

    fn run(&self, args: &[&str], envs: &[(&str, &str)]) -> Output {
        self.command(args, envs).output().expect("framecast runs")
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The line of `framecast config`'s output that sets `key`, and its source comment.
fn setting<'a>(stdout: &'a str, key: &str) -> (&'a str, &'a str) {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("{key} = ")) || l.starts_with(&format!("# {key}: ")))
        .unwrap_or_else(|| panic!("no {key} in:\n{stdout}"));
    match line.split_once(" # ") {
        Some((assignment, source)) => (assignment.trim_end(), source),
        None => (line, ""),
    }
}

#[test]
fn a_file_default_gives_way_to_env_then_to_a_flag() {
    let setup = Setup::new();
    let file = setup.file("size = \"1280x720\"\nmax-clients = 16\n");
    let file = file.to_str().expect("UTF-8");

    let run = setup.run(&["config", "--config", file], &[]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let out = text(&run.stdout);
    assert!(out.contains(&format!("# config file: {file}\n")), "{out}");
    assert_eq!(setting(&out, "size"), ("size = \"1280x720\"", "file"));
    assert_eq!(setting(&out, "max-clients"), ("max-clients = 16", "file"));
    assert_eq!(setting(&out, "quality"), ("quality = 85", "default"));
    assert_eq!(setting(&out, "dirs"), ("dirs = [\".\"]", "default"));

    let env = [("FRAMECAST_SIZE", "800x600")];
    let out = text(&setup.run(&["config", "--config", file], &env).stdout);
    assert_eq!(
        setting(&out, "size"),
        ("size = \"800x600\"", "env FRAMECAST_SIZE")
    );
    assert_eq!(setting(&out, "max-clients"), ("max-clients = 16", "file"));

    let out = text(
        &setup
            .run(&["config", "--config", file, "--size", "640x480"], &env)
            .stdout,
    );
    assert_eq!(setting(&out, "size"), ("size = \"640x480\"", "flag"));
}

#[test]
fn folders_and_albums_from_the_environment_win_over_the_file() {
    let setup = Setup::new();
    let file = setup.file("dirs = [\"/srv/photos\"]\nalbum = [\"pets\"]\n");
    let file = file.to_str().expect("UTF-8");
    let out = text(&setup.run(&["config", "--config", file], &[]).stdout);
    assert_eq!(setting(&out, "dirs"), ("dirs = [\"/srv/photos\"]", "file"));
    assert_eq!(setting(&out, "album"), ("album = [\"pets\"]", "file"));
    let env = [("FRAMECAST_DIRS", "/a:/b"), ("FRAMECAST_ALBUMS", "x, y")];
    let out = text(&setup.run(&["config", "--config", file], &env).stdout);
    assert_eq!(
        setting(&out, "dirs"),
        ("dirs = [\"/a\", \"/b\"]", "env FRAMECAST_DIRS")
    );
    assert_eq!(
        setting(&out, "album"),
        ("album = [\"x\", \"y\"]", "env FRAMECAST_ALBUMS")
    );
    let out = text(&setup.run(&["config", "--config", file, "/c"], &env).stdout);
    assert_eq!(setting(&out, "dirs"), ("dirs = [\"/c\"]", "flag"));
}

#[test]
fn the_file_is_found_by_flag_env_or_in_the_config_folder() {
    let setup = Setup::new();
    let out = text(&setup.run(&["config"], &[]).stdout);
    assert!(out.contains("# config file: none\n"), "{out}");

    let named = setup.file("quality = 50\n");
    let env = [("FRAMECAST_CONFIG", named.to_str().expect("UTF-8"))];
    let out = text(&setup.run(&["config"], &env).stdout);
    assert_eq!(setting(&out, "quality"), ("quality = 50", "file"));

    let found = setup.dir.path().join("xdg/framecast/framecast.toml");
    std::fs::create_dir_all(found.parent().expect("parent")).expect("mkdir");
    std::fs::write(&found, "quality = 60\n").expect("write");
    let out = text(&setup.run(&["config"], &[]).stdout);
    assert!(
        out.contains(&format!("# config file: {}\n", found.display())),
        "{out}"
    );
    assert_eq!(setting(&out, "quality"), ("quality = 60", "file"));
    // A file named explicitly is read instead of the one found.
    let out = text(&setup.run(&["config"], &env).stdout);
    assert_eq!(setting(&out, "quality"), ("quality = 50", "file"));

    // A named file that is missing is an error; a missing default one is not.
    let missing = setup.dir.path().join("nowhere.toml");
    let missing = missing.to_str().expect("UTF-8");
    let run = setup.run(&["serve", "--config", missing], &[]);
    assert_eq!(run.status.code(), Some(2));
    let stderr = text(&run.stderr);
    assert!(
        stderr.contains(&format!("cannot read the config file {missing}")),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn a_broken_file_found_by_default_stops_serve_but_not_render() {
    let setup = Setup::new();
    let found = setup.dir.path().join("xdg/framecast/framecast.toml");
    std::fs::create_dir_all(found.parent().expect("parent")).expect("mkdir");
    std::fs::write(&found, "sise = \"800x480\"\n").expect("write");
    let run = setup.run(&["serve"], &[]);
    assert_eq!(run.status.code(), Some(2));
    let stderr = text(&run.stderr);
    assert!(
        stderr.contains(&format!("{}:1: unknown key 'sise'", found.display())),
        "{stderr}"
    );
    let out = setup.dir.path().join("frames");
    let run = setup.run(
        &[
            "render",
            fixture("edge/1x1.png").to_str().expect("UTF-8"),
            "--out",
            out.to_str().expect("UTF-8"),
            "--size",
            "32x32",
        ],
        &[],
    );
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
}

#[test]
fn bad_keys_values_and_profiles_name_the_file_the_line_and_the_key() {
    let setup = Setup::new();
    for (text_of_file, says) in [
        (
            "size = \"1280x720\"\nmax-client = 16\n",
            ":2: unknown key 'max-client' (did you mean 'max-clients'?)",
        ),
        ("\nsize = \"huge\"\n", ":2: size: invalid value 'huge'"),
        (
            "interval = \"5\"\n",
            ":1: interval: invalid value '5': '5' has no unit",
        ),
        ("size = 1280x720\n", ":1:"),
        (
            "[profiles.kitchen]\nsize = \"1024x600\"\nfit = \"stretch\"\n",
            ":3: profile 'kitchen': fit must be letterbox, blur, cover or pair, not 'stretch'",
        ),
        (
            "[profiles.kitchen]\nsise = \"1024x600\"\n",
            ":2: profile 'kitchen': unknown parameter 'sise'",
        ),
        (
            "[profiles.\"two words\"]\nsize = \"1024x600\"\n",
            ":1: profile name \"two words\" is not a name",
        ),
    ] {
        let file = setup.file(text_of_file);
        let file = file.to_str().expect("UTF-8");
        for command in ["serve", "config"] {
            let run = setup.run(&[command, "--config", file], &[]);
            let stderr = text(&run.stderr);
            assert_eq!(run.status.code(), Some(2), "{text_of_file}: {stderr}");
            assert!(
                stderr.starts_with(&format!("framecast: {file}:")),
                "{text_of_file}: {stderr}"
            );
            assert!(stderr.contains(says), "{text_of_file}: {stderr}");
            assert!(!stderr.contains("--size"), "blames a flag: {stderr}");
        }
    }
}

#[test]
fn secrets_are_shown_as_set_or_unset_only() {
    let setup = Setup::new();
    let file = setup.file("auth = \"tv:file-password\"\n");
    let env = [("FRAMECAST_TOKEN", "s3cret-token-value")];
    let run = setup.run(&["config", "--config", file.to_str().expect("UTF-8")], &env);
    let out = text(&run.stdout);
    assert_eq!(setting(&out, "auth").0, "# auth: set (file)");
    assert_eq!(
        setting(&out, "token").0,
        "# token: set (env FRAMECAST_TOKEN)"
    );
    assert!(
        !out.contains("file-password") && !out.contains("s3cret"),
        "{out}"
    );
    let out = text(&setup.run(&["config"], &[]).stdout);
    assert_eq!(setting(&out, "auth").0, "# auth: unset");
}

#[test]
fn the_profiles_are_printed_as_a_config_file() {
    let setup = Setup::new();
    let file = setup.file(
        "[profiles.kitchen]\nsize = \"1024x600\"\nfit = \"blur\"\n\n[profiles.hall]\nquality = 40\n",
    );
    let out = text(
        &setup
            .run(&["config", "--config", file.to_str().expect("UTF-8")], &[])
            .stdout,
    );
    assert!(out.contains("\n[profiles.hall]\nquality = 40\n"), "{out}");
    assert!(
        out.contains("\n[profiles.kitchen]\nfit = \"blur\"\nsize = \"1024x600\"\n"),
        "{out}"
    );
}

/// One GET on a fresh connection: (status, body).
fn get(port: u16, path: &str) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    write!(stream, "GET {path} HTTP/1.0\r\n\r\n").expect("request");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("response");
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    let head = String::from_utf8_lossy(&response[..end]);
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, response[end + 4..].to_vec())
}

fn frame_size(jpeg: &[u8]) -> (u32, u32) {
    let decoded = common::decode(jpeg);
    (decoded.width, decoded.height)
}

#[test]
fn serve_runs_with_the_file_defaults_and_its_profiles() {
    let setup = Setup::new();
    let photos = setup.dir.path().join("photos");
    std::fs::create_dir_all(&photos).expect("mkdir");
    std::fs::copy(fixture("edge/cmyk.jpg"), photos.join("card.jpg")).expect("copy");
    let file = setup.file(&format!(
        "dirs = [{:?}]\nsize = \"200x150\"\nlisten = \"127.0.0.1:0\"\n\n\
         [profiles.kitchen]\nsize = \"320x240\"\n",
        photos.to_str().expect("UTF-8")
    ));
    let mut child = setup
        .command(&["serve", "--config", file.to_str().expect("UTF-8")], &[])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let port: u16 = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines.recv_timeout(left).expect("the page URL on stderr");
        if line.contains("page") && line.contains("http://127.0.0.1:") {
            let port = line.rsplit(':').next().expect("port");
            break port.trim_end_matches('/').parse().expect("a port");
        }
    };
    let (status, body) = get(port, "/snapshot.jpg");
    assert_eq!(status, 200, "{}", text(&body));
    assert_eq!(frame_size(&body), (200, 150), "the file's size");
    for path in ["/p/kitchen/snapshot.jpg", "/snapshot.jpg?profile=kitchen"] {
        let (status, body) = get(port, path);
        assert_eq!(status, 200, "{path}: {}", text(&body));
        assert_eq!(frame_size(&body), (320, 240), "{path}: the profile's size");
    }
    let (_, body) = get(port, "/api/status");
    let status: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(
        status["settings"]["config_file"],
        file.to_str().expect("UTF-8")
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn the_config_command_has_a_man_page_and_help() {
    let setup = Setup::new();
    let run = setup.run(&["config", "--help"], &[]);
    assert_eq!(run.status.code(), Some(0));
    let help = text(&run.stdout);
    assert!(help.contains("where each comes from"), "{help}");
    assert!(help.contains("--config <FILE>"), "{help}");
    let out = setup.dir.path().join("generated");
    let run = setup.run(&["generate", "--out", out.to_str().expect("UTF-8")], &[]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    assert!(Path::new(&out).join("man/framecast-config.1").is_file());
}
