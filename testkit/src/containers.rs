//! The services as containers (testcontainers), for a machine with a Docker-compatible
//! engine (`DOCKER_HOST`; podman's `podman system service` serves one) and no
//! `scripts/services`. One container per service per test binary, removed when the
//! binary exits.
//!
//! The images are configuration, `ORDERFLOW_TEST_IMAGE_{MONGO,REDIS,SQS,SES,SMTP}` =
//! `name:tag`. The defaults are the products from Docker Hub, each started as it needs:
//! `mongo` as a replica set (`rs.initiate`, for transactions), `redis`,
//! `localstack/localstack` for SQS, `motoserver/moto` for SES v2 (which LocalStack's
//! free emulator lacks), `axllent/mailpit` read over its API. Any other image is a
//! stand-in (`scripts/image standins` builds them where no registry is reachable): it
//! serves its product's standard port with its own CMD and logs a ready line; the SMTP
//! stand-in writes a maildir at `/maildir`, mounted from a fresh directory here.

use crate::services::{unique, Kind, Mailbox, SmtpSink};
use std::io::{Read, Write};
use std::sync::Mutex;
use std::time::Duration;
use testcontainers::core::{IntoContainerPort, Mount, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, ContainerRequest, GenericImage, ImageExt};
use testcontainers_modules::{localstack::LocalStack, mongo::Mongo, redis::Redis};
use tokio::sync::OnceCell;

/// The image for a service and whether it is the product itself.
struct Image {
    name: String,
    tag: String,
    product: bool,
}

fn image(kind: Kind) -> Image {
    let (var, default_name, default_tag) = match kind {
        Kind::Mongo => ("ORDERFLOW_TEST_IMAGE_MONGO", "mongo", "7.0.15"),
        Kind::Redis => ("ORDERFLOW_TEST_IMAGE_REDIS", "redis", "7.2.6"),
        Kind::Sqs => ("ORDERFLOW_TEST_IMAGE_SQS", "localstack/localstack", "3.8.1"),
        Kind::Ses => ("ORDERFLOW_TEST_IMAGE_SES", "motoserver/moto", "5.2.5"),
    };
    image_from(var, default_name, default_tag)
}

fn image_from(var: &str, default_name: &str, default_tag: &str) -> Image {
    let configured = std::env::var(var).ok().filter(|v| !v.trim().is_empty());
    let (name, tag) = match configured.as_deref() {
        // The tag is after the last ':' of the last path segment (a registry may carry a port).
        Some(v) => match v.rsplit_once(':').filter(|(_, t)| !t.contains('/')) {
            Some((n, t)) => (n.to_owned(), t.to_owned()),
            None => (v.to_owned(), "latest".to_owned()),
        },
        None => (default_name.to_owned(), default_tag.to_owned()),
    };
    let product = name == default_name || name == format!("docker.io/{default_name}");
    Image { name, tag, product }
}

/// A stand-in: its own CMD, one port, ready when it says so.
fn standin(img: &Image, port: u16, ready: &str) -> GenericImage {
    GenericImage::new(&img.name, &img.tag)
        .with_exposed_port(port.tcp())
        .with_wait_for(WaitFor::message_on_either_std(ready))
}

/// A host port for a container's port, chosen here: podman's Docker API (4.3) does not
/// publish the ports of a container created with "publish all", so every port is
/// mapped by hand (on Docker too, so both run the same way).
fn host_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

static MONGO: OnceCell<String> = OnceCell::const_new();
static REDIS: OnceCell<String> = OnceCell::const_new();
static SQS: OnceCell<String> = OnceCell::const_new();
static SES: OnceCell<String> = OnceCell::const_new();
static SMTP: OnceCell<SmtpSink> = OnceCell::const_new();

/// Keeps a started container for the life of the test binary, and has it removed when
/// the binary exits (statics are never dropped, so `Drop` would not do it).
fn keep<I: testcontainers::Image>(c: ContainerAsync<I>) {
    remove_at_exit(c.id().to_owned());
    std::mem::forget(c);
}

/// Starts `req` with `inner` published on `host`, for the life of the test binary.
async fn run<I: testcontainers::Image>(
    req: ContainerRequest<I>,
    host: u16,
    inner: u16,
    what: &str,
) {
    let c = req
        .with_mapped_port(host, inner.tcp())
        .start()
        .await
        .unwrap_or_else(|e| panic!("starting {what}: {e}"));
    keep(c);
}

pub(crate) async fn start(kind: Kind) -> String {
    let cell = match kind {
        Kind::Mongo => &MONGO,
        Kind::Redis => &REDIS,
        Kind::Sqs => &SQS,
        Kind::Ses => &SES,
    };
    cell.get_or_init(|| async move {
        let img = image(kind);
        let what = format!("{}:{} for {kind:?}", img.name, img.tag);
        let port = host_port();
        let (inner, url, ready) = match kind {
            Kind::Mongo => (27017, mongo_url(port), "listening on"),
            Kind::Redis => (
                6379,
                format!("redis://127.0.0.1:{port}"),
                "Ready to accept connections",
            ),
            Kind::Sqs | Kind::Ses => (4566, format!("http://127.0.0.1:{port}"), "Running on"),
        };
        let (name, tag) = (img.name.as_str(), img.tag.as_str());
        match (kind, img.product) {
            (Kind::Mongo, true) => {
                run(
                    Mongo::repl_set().with_name(name).with_tag(tag),
                    port,
                    inner,
                    &what,
                )
                .await
            }
            (Kind::Redis, true) => {
                run(
                    Redis::default().with_name(name).with_tag(tag),
                    port,
                    inner,
                    &what,
                )
                .await
            }
            (Kind::Sqs, true) => {
                let localstack = LocalStack::default()
                    .with_name(name)
                    .with_tag(tag)
                    .with_env_var("SERVICES", "sqs");
                run(localstack, port, inner, &what).await
            }
            // motoserver/moto's entrypoint is moto_server, on port 5000 unless told.
            (Kind::Ses, true) => {
                let moto = standin(&img, inner, ready).with_cmd(["-H", "0.0.0.0", "-p", "4566"]);
                run(moto, port, inner, &what).await
            }
            (_, false) => run(standin(&img, inner, ready).into(), port, inner, &what).await,
        }
        url
    })
    .await
    .clone()
}

fn mongo_url(port: u16) -> String {
    format!("mongodb://127.0.0.1:{port}/?directConnection=true")
}

pub(crate) async fn smtp() -> SmtpSink {
    SMTP.get_or_init(|| async {
        let img = image_from("ORDERFLOW_TEST_IMAGE_SMTP", "axllent/mailpit", "v1.21.8");
        let smtp = host_port();
        if img.product {
            let api = host_port();
            let c = GenericImage::new(&img.name, &img.tag)
                .with_exposed_port(1025.tcp())
                .with_exposed_port(8025.tcp())
                .with_wait_for(WaitFor::message_on_stdout("accessible via"))
                .with_mapped_port(smtp, 1025.tcp())
                .with_mapped_port(api, 8025.tcp())
                .start()
                .await
                .expect("start mailpit");
            keep(c);
            return SmtpSink {
                addr: format!("127.0.0.1:{smtp}"),
                mailbox: Mailbox::Mailpit(format!("http://127.0.0.1:{api}")),
            };
        }
        // The stand-in writes into a maildir that this process reads.
        let dir = std::env::temp_dir().join(unique("orderflow-maildir"));
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(dir.join(sub)).expect("maildir");
        }
        let c = standin(&img, 1025, "Server is listening on")
            .with_mount(Mount::bind_mount(dir.display().to_string(), "/maildir"))
            .with_mapped_port(smtp, 1025.tcp())
            .start()
            .await
            .expect("start the SMTP stand-in");
        keep(c);
        SmtpSink {
            addr: format!("127.0.0.1:{smtp}"),
            mailbox: Mailbox::Maildir(dir),
        }
    })
    .await
    .clone()
}

/// Whether a Docker-compatible engine answers: `GET /_ping` on `DOCKER_HOST` (a unix
/// socket or tcp address) or the default socket.
pub fn available() -> bool {
    engine("GET", "/_ping").is_some_and(|body| body.ends_with("OK"))
}

static TO_REMOVE: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn remove_at_exit(id: String) {
    let mut ids = TO_REMOVE.lock().unwrap_or_else(|e| e.into_inner());
    if ids.is_empty() {
        // SAFETY: registers a plain `extern "C"` function; it runs once, at exit.
        unsafe {
            libc::atexit(remove_all);
        }
    }
    ids.push(id);
}

extern "C" fn remove_all() {
    let ids = std::mem::take(&mut *TO_REMOVE.lock().unwrap_or_else(|e| e.into_inner()));
    for id in ids {
        if engine("DELETE", &format!("/containers/{id}?force=true&v=true")).is_none() {
            eprintln!("testcontainers: could not remove container {id}");
        }
    }
}

/// One request to the engine's API, answered as text (status line to body), or `None`
/// when it cannot be reached. Blocking and dependency-free, so it also runs at exit.
fn engine(method: &str, path: &str) -> Option<String> {
    let host =
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
    let request = format!("{method} {path} HTTP/1.0\r\nHost: docker\r\n\r\n");
    let mut answer = String::new();
    if let Some(socket) = host.strip_prefix("unix://") {
        let mut s = std::os::unix::net::UnixStream::connect(socket).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
        s.write_all(request.as_bytes()).ok()?;
        s.read_to_string(&mut answer).ok()?;
    } else {
        let addr = host.strip_prefix("tcp://").unwrap_or(&host);
        let mut s = std::net::TcpStream::connect(addr).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
        s.write_all(request.as_bytes()).ok()?;
        s.read_to_string(&mut answer).ok()?;
    }
    let status_ok = answer
        .split_whitespace()
        .nth(1)
        .is_some_and(|code| code.starts_with('2'));
    status_ok.then(|| answer.trim_end().to_owned())
}
