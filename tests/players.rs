//! The README's "Screens and players" recipes, each run against the real server with real
//! frames of the exact size checked. The commands and programs are read from the README
//! itself (the block after each `<!-- recipe: NAME -->`), with the server's address put in and,
//! for a player with a window, the window swapped for files the test can look at.
//!
//! These need the players (`scripts/deps.sh clients`) and run with `make test-clients`, which
//! also runs the page in both browsers, VLC and ffmpeg (they are in `make test` as well); the
//! Home Assistant-style reader needs nothing and runs in `make test` too.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime};

use common::server::TestServer;
use common::{assert_frame, decode};
use framecast::render::Size;

const SIZE: Size = Size {
    width: 640,
    height: 360,
};
const RED: [u8; 3] = [200, 40, 40];
const BLUE: [u8; 3] = [40, 60, 210];

/// A server taking turns between a red and a blue photo every second, at 640x360.
struct Gallery {
    server: TestServer,
    _photos: tempfile::TempDir,
}

fn gallery() -> Gallery {
    let gallery = gallery_with(|_| {});
    gallery.wait_for_a_photo(&[]);
    gallery
}

/// [`gallery`] with more settings changed by `tweak`.
fn gallery_with(tweak: impl FnOnce(&mut framecast::server::Settings)) -> Gallery {
    let photos = tempfile::tempdir().expect("temp dir");
    for (name, color) in [("a.png", RED), ("b.png", BLUE)] {
        image::RgbImage::from_pixel(320, 180, image::Rgb(color))
            .save(photos.path().join(name))
            .expect("write photo");
    }
    let server = TestServer::start(vec![photos.path().to_path_buf()], |s| {
        s.spec.size = SIZE;
        s.timing.interval = Duration::from_secs(1);
        tweak(s);
    });
    Gallery {
        server,
        _photos: photos,
    }
}

impl Gallery {
    /// Written just now, the photos are taken once they have settled; until then the stream
    /// shows a frame that says the library is still looking, which no recipe is about.
    fn wait_for_a_photo(&self, headers: &[(&str, &str)]) {
        common::server::wait_until("a photo on screen", Duration::from_secs(20), || {
            let r = self.server.get_with("GET", "/api/status", headers);
            serde_json::from_slice::<serde_json::Value>(&r.body)
                .is_ok_and(|status| status["current"]["path"].is_string())
        });
    }

    fn base(&self) -> String {
        format!("http://{}", self.server.addr)
    }
}

/// The block after `<!-- recipe: NAME -->` in the README, with `HOST` made real.
fn recipe(name: &str, base: &str) -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let marker = format!("<!-- recipe: {name} -->");
    let after = readme
        .split_once(&marker)
        .unwrap_or_else(|| panic!("README has no {marker}"))
        .1;
    let block = after.split_once("```").expect("a code block").1;
    let block = block.split_once('\n').expect("a language line").1;
    let code = block.split_once("```").expect("the block's end").0;
    code.replace("http://HOST:8080", base)
}

/// A one-line command as arguments (the recipes quote nothing).
fn words(command: &str) -> Vec<String> {
    command.split_whitespace().map(str::to_string).collect()
}

fn tool(name: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/local/bin", "/bin"] {
        let path = Path::new(dir).join(name);
        if path.exists() {
            return path;
        }
    }
    panic!("{name} is not installed: run `scripts/deps.sh clients` (make test-clients) first");
}

/// Runs `command` in `dir` to its end, at most `limit`; its stderr is returned for messages.
fn run(mut command: Command, dir: &Path, limit: Duration) -> (ExitStatus, String) {
    let log = dir.join("stderr.log");
    let mut child = command
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("the client starts");
    let status = wait(&mut child, limit);
    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
    let status = status.unwrap_or_else(|| panic!("still running after {limit:?}:\n{stderr}"));
    (status, stderr)
}

fn wait(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return Some(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn near(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(&x, y)| x.abs_diff(y) <= 40)
}

/// Which photo a picture is, by its middle; a picture that is neither fails.
fn photo_of(pixel: [u8; 3]) -> [u8; 3] {
    [RED, BLUE]
        .into_iter()
        .find(|&c| near(pixel, c))
        .unwrap_or_else(|| panic!("a picture of neither photo: {pixel:?}"))
}

/// Checks pictures read by a client: the exact size, each one of the photos, and both
/// photos seen (the client follows the stream, not one picture).
fn check_pictures(pictures: &[image::RgbImage], at_least: usize) {
    assert!(
        pictures.len() >= at_least,
        "{} pictures, not {at_least}",
        pictures.len()
    );
    let mut seen = Vec::new();
    for p in pictures {
        assert_eq!((p.width(), p.height()), (SIZE.width, SIZE.height));
        let photo = photo_of(p.get_pixel(SIZE.width / 2, SIZE.height / 2).0);
        if !seen.contains(&photo) {
            seen.push(photo);
        }
    }
    assert_eq!(seen.len(), 2, "the pictures never changed");
}

/// Raw RGB frames of the frame size, back to back.
fn raw_frames(bytes: &[u8]) -> Vec<image::RgbImage> {
    let frame = (SIZE.width * SIZE.height * 3) as usize;
    assert_eq!(
        bytes.len() % frame,
        0,
        "{} bytes of whole frames",
        bytes.len()
    );
    bytes
        .chunks(frame)
        .map(|c| image::RgbImage::from_raw(SIZE.width, SIZE.height, c.to_vec()).expect("frame"))
        .collect()
}

/// The files of `dir` named `prefix…`, in order of their number.
fn numbered(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut files: Vec<(u32, PathBuf)> = std::fs::read_dir(dir)
        .expect("dir")
        .filter_map(|e| {
            let path = e.ok()?.path();
            let name = path.file_stem()?.to_str()?;
            let n = name.strip_prefix(prefix)?.parse().ok()?;
            Some((n, path))
        })
        .collect();
    files.sort();
    files.into_iter().map(|(_, p)| p).collect()
}

#[test]
#[ignore = "a player: make test-clients"]
fn mpv_shows_each_picture_as_it_arrives() {
    let gallery = gallery();
    let args = words(&recipe("mpv", &gallery.base()));
    assert_eq!(args[0], "mpv");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut mpv = Command::new(tool("mpv"));
    // The window becomes a folder of pictures, written as mpv shows them.
    mpv.args(&args[1..])
        .args([
            "--no-config",
            "--no-audio",
            "--vo=image",
            "--vo-image-format=png",
        ])
        .args(["--vo-image-outdir=shots", "--frames=8"]);
    std::fs::create_dir(dir.path().join("shots")).expect("mkdir");
    let (status, stderr) = run(mpv, dir.path(), Duration::from_secs(90));
    assert!(status.success(), "mpv: {stderr}");
    let shots = numbered(&dir.path().join("shots"), "");
    let pictures: Vec<_> = shots
        .iter()
        .map(|p| image::open(p).expect("png").to_rgb8())
        .collect();
    check_pictures(&pictures, 8);
    // Pictures come at least every second here; with mpv's defaults the first one stays
    // for about 17 s while it waits for 25 of them.
    let times: Vec<SystemTime> = shots
        .iter()
        .map(|p| p.metadata().and_then(|m| m.modified()).expect("mtime"))
        .collect();
    let longest = times
        .windows(2)
        .map(|w| w[1].duration_since(w[0]).unwrap_or_default())
        .max()
        .unwrap_or_default();
    assert!(
        longest < Duration::from_secs(5),
        "mpv held a picture for {longest:?}"
    );
    eprintln!("mpv: 8 pictures, at most {longest:?} apart");
}

#[test]
#[ignore = "a player: make test-clients"]
fn ffmpeg_records_seconds_not_pictures() {
    let gallery = gallery();
    let mut args = words(&recipe("ffmpeg-record", &gallery.base()));
    assert_eq!(args[0], "ffmpeg");
    // Four seconds instead of an hour.
    let t = args.iter().position(|a| a == "-t").expect("-t");
    args[t + 1] = "4".into();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut ffmpeg = Command::new(tool("ffmpeg"));
    ffmpeg
        .args(["-y", "-hide_banner", "-loglevel", "error"])
        .args(&args[1..]);
    let started = Instant::now();
    let (status, stderr) = run(ffmpeg, dir.path(), Duration::from_secs(120));
    let took = started.elapsed();
    assert!(status.success(), "ffmpeg: {stderr}");
    // Seconds of wall clock: without the flag, 4 "seconds" are 100 pictures, over a minute.
    assert!(took < Duration::from_secs(30), "recording took {took:?}");
    let video = dir.path().join("photos.mp4");
    let probe = Command::new(tool("ffprobe"))
        .args(["-v", "error", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=width,height:format=duration"])
        .args(["-of", "default=noprint_wrappers=1"])
        .arg(&video)
        .output()
        .expect("ffprobe");
    let probe = String::from_utf8_lossy(&probe.stdout);
    assert!(
        probe.contains("width=640") && probe.contains("height=360"),
        "{probe}"
    );
    let duration: f64 = probe
        .lines()
        .find_map(|l| l.strip_prefix("duration="))
        .and_then(|d| d.parse().ok())
        .expect("a duration");
    assert!((3.0..=5.0).contains(&duration), "{duration} s of video");
    eprintln!("ffmpeg: recorded {duration} s of video in {took:?}");
    // Two pictures a second, decoded back.
    let decoded = Command::new(tool("ffmpeg"))
        .args(["-v", "error", "-i"])
        .arg(&video)
        .args(["-vf", "fps=2", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .output()
        .expect("ffmpeg decodes");
    check_pictures(&raw_frames(&decoded.stdout), 6);
}

#[test]
#[ignore = "a player: make test-clients"]
fn ffmpeg_restreams_to_an_rtsp_server() {
    let gallery = gallery();
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let target = format!("rtsp://127.0.0.1:{port}/photos");
    let recipe = recipe("ffmpeg-rtsp", &gallery.base());
    assert!(recipe.contains("rtsp://RTSP-SERVER:8554/photos"));
    let args = words(&recipe.replace("rtsp://RTSP-SERVER:8554/photos", &target));
    let dir = tempfile::tempdir().expect("temp dir");
    // ffmpeg itself plays the RTSP server: it takes the published stream and keeps 4 frames.
    let mut server = Running(
        Command::new(tool("ffmpeg"))
            .args([
                "-hide_banner",
                "-loglevel",
                "error",
                "-rtsp_flags",
                "listen",
                "-i",
            ])
            .arg(&target)
            .args([
                "-frames:v",
                "4",
                "-f",
                "rawvideo",
                "-pix_fmt",
                "rgb24",
                "-y",
                "frames.rgb",
            ])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the RTSP side starts"),
    );
    let start = Instant::now();
    let received = loop {
        let mut publisher = Running(
            Command::new(tool("ffmpeg"))
                .args(["-hide_banner", "-loglevel", "error"])
                .args(&args[1..])
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("ffmpeg publishes"),
        );
        // Refused while the RTSP side is not listening yet: then it ends at once.
        if wait_briefly(&mut publisher.0, Duration::from_secs(1)).is_none() {
            break wait_briefly(&mut server.0, Duration::from_secs(60)).expect("4 frames in 60 s");
        }
        if let Some(status) = server.0.try_wait().expect("wait") {
            break status;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "never published");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(received.success());
    let bytes = std::fs::read(dir.path().join("frames.rgb")).expect("frames");
    let frames = raw_frames(&bytes);
    assert_eq!(frames.len(), 4);
    for f in &frames {
        photo_of(f.get_pixel(SIZE.width / 2, SIZE.height / 2).0);
    }
}

#[test]
#[ignore = "a player: make test-clients"]
fn gstreamer_decodes_the_stream() {
    let gallery = gallery();
    let recipe = recipe("gstreamer", &gallery.base());
    let recipe = recipe.trim();
    assert!(recipe.ends_with("! autovideosink sync=false"), "{recipe}");
    let dir = tempfile::tempdir().expect("temp dir");
    // The window becomes a file of raw frames, which must be of the exact size to link.
    let headless = recipe.replace(
        "autovideosink sync=false",
        "video/x-raw,format=RGB,width=640,height=360 ! identity eos-after=7 ! \
         filesink location=frames.rgb",
    );
    let args = words(&headless);
    let mut gst = Command::new(tool(&args[0]));
    gst.args(&args[1..]);
    let (status, stderr) = run(gst, dir.path(), Duration::from_secs(60));
    assert!(status.success(), "gst-launch: {stderr}");
    let bytes = std::fs::read(dir.path().join("frames.rgb")).expect("frames");
    check_pictures(&raw_frames(&bytes), 6);

    // And the recipe as written, with its window on a virtual display: it plays on.
    let mut shown = Command::new(tool("xvfb-run"));
    shown.arg("-a").args(words(recipe));
    std::os::unix::process::CommandExt::process_group(&mut shown, 0);
    let log = dir.path().join("shown.log");
    let log_file = std::fs::File::create(&log).expect("log");
    let mut child = shown
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().expect("log"))
        .stderr(log_file)
        .spawn()
        .expect("xvfb-run starts");
    let ended = wait_briefly(&mut child, Duration::from_secs(4));
    // xvfb-run, Xvfb and gst-launch are one process group, started here.
    let _ = Command::new("kill")
        .args(["-TERM", "--", &format!("-{}", child.id())])
        .status();
    let _ = child.wait();
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(ended.is_none(), "the pipeline ended: {output}");
    assert!(output.contains("PLAYING"), "{output}");
    assert!(!output.contains("ERROR"), "{output}");
}

/// A child process that is ended when the test is, passed or not.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits up to `limit` for the child to end, leaving it running otherwise.
fn wait_briefly(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(status) = child.try_wait().expect("wait") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// Runs a Python recipe in a fresh folder.
fn python(code: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut python = Command::new("python3");
    python.arg("-c").arg(code);
    let (status, stderr) = run(python, dir.path(), Duration::from_secs(60));
    assert!(status.success(), "python3: {stderr}");
    dir
}

#[test]
#[ignore = "a player: make test-clients"]
fn opencv_reads_each_picture() {
    let gallery = gallery();
    let dir = python(&recipe("opencv", &gallery.base()));
    let pictures: Vec<_> = numbered(dir.path(), "frame")
        .iter()
        .map(|p| image::open(p).expect("png").to_rgb8())
        .collect();
    check_pictures(&pictures, 10);
}

#[test]
#[ignore = "a player: make test-clients"]
fn requests_yields_each_jpeg() {
    let gallery = gallery();
    let started = Instant::now();
    let dir = python(&recipe("requests", &gallery.base()));
    // Ten parts come in about five seconds; a reader that waits for more data than a part
    // has would hand each one out a part late.
    let took = started.elapsed();
    assert!(took < Duration::from_secs(30));
    eprintln!("requests: 10 pictures in {took:?}");
    let mut pictures = Vec::new();
    for path in numbered(dir.path(), "frame") {
        let jpeg = std::fs::read(&path).expect("jpeg");
        assert_frame(&jpeg, SIZE);
        let d = decode(&jpeg);
        pictures.push(image::RgbImage::from_raw(d.width, d.height, d.rgb).expect("picture"));
    }
    check_pictures(&pictures, 10);
}

/// What Home Assistant's MJPEG camera does: the still image URL for snapshots, and the
/// stream read in whatever chunks arrive, the first JPEG cut out between its start and end
/// markers (its way when no still image URL is set).
#[test]
fn home_assistant_style_camera_gets_stills_and_the_stream() {
    let gallery = gallery();
    home_assistant_camera(&gallery.server, &[]);
}

/// The same with the user name and password of `--auth` in the integration, which it sends
/// as HTTP Basic on both URLs; without them the server answers 401 and a challenge.
#[test]
fn home_assistant_style_camera_sends_the_credentials() {
    let gallery = gallery_with(|s| {
        s.http.access = framecast::http::Access {
            basic: Some(
                "homeassistant:long pass phrase"
                    .parse()
                    .expect("credentials"),
            ),
            token: None,
        };
    });
    let server = &gallery.server;
    for path in ["/snapshot.jpg", "/stream.mjpg"] {
        let r = server.get("GET", path);
        assert_eq!(r.status, 401, "{path}");
        assert!(r.headers["www-authenticate"].starts_with("Basic"), "{path}");
    }
    let (name, value) = common::server::basic("homeassistant:long pass phrase");
    let credentials = [(name, value.as_str())];
    gallery.wait_for_a_photo(&credentials);
    home_assistant_camera(server, &credentials);
}

fn home_assistant_camera(server: &TestServer, headers: &[(&str, &str)]) {
    let extra: String = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    for (still, stream) in [
        ("/snapshot.jpg", "/stream.mjpg"),
        ("/?action=snapshot", "/?action=stream"),
    ] {
        let r = server.get_with("GET", still, headers);
        assert_eq!(r.status, 200, "{still}");
        assert_eq!(r.headers["content-type"], "image/jpeg");
        assert_eq!(r.headers["content-length"], r.body.len().to_string());
        assert_frame(&r.body, SIZE);

        let mut s = server.connect();
        write!(s, "GET {stream} HTTP/1.1\r\nHost: test\r\n{extra}\r\n").expect("send");
        let mut data = Vec::new();
        let mut chunk = vec![0u8; 100 * 1024];
        let jpeg = loop {
            let n = s.read(&mut chunk).expect("read");
            assert!(n > 0, "the stream ended");
            data.extend_from_slice(&chunk[..n]);
            let Some(start) = find(&data, b"\xFF\xD8") else {
                continue;
            };
            if let Some(end) = find(&data[start..], b"\xFF\xD9") {
                break data[start..start + end + 2].to_vec();
            }
        };
        assert!(data.starts_with(b"HTTP/1.0 200"), "{stream}");
        assert_frame(&jpeg, SIZE);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
