//! Live order status across processes, on the local services: a stream held by one
//! API process sees the change a worker in another process makes (through the order
//! feed, Redis pub/sub), and ends when its process shuts down.

mod support;

use orderflow_testkit::sse::{EventStream, Said};
use std::time::{Duration, Instant};
use support::*;

async fn open(c: &Client, port: u16, id: &str, token: &str) -> EventStream {
    let res = c
        .http
        .get(format!("http://127.0.0.1:{port}/api/orders/{id}/events"))
        .bearer_auth(token)
        .send()
        .await
        .expect("answered");
    assert_eq!(res.status().as_u16(), 200);
    EventStream::new(res)
}

async fn wait_up(c: &Client, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let up = c
            .http
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if up {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the second API never became ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_on_one_api_sees_the_change_a_worker_makes_in_another_process() {
    let Some(mut s) = Stack::new().await else {
        return;
    };
    // Far longer than the test waits: only the feed can bring the change in time.
    s.set("ORDERFLOW_HTTP__STREAM_RECHECK_MS", "600000");
    let c = Client::new();
    let _api = s.spawn("api");
    let port = free_port();
    let mut api2 = s.spawn_with(
        "api",
        &[("ORDERFLOW_HTTP__BIND", format!("127.0.0.1:{port}"))],
    );
    c.wait_ready(&s).await;
    wait_up(&c, port).await;
    c.product(&s, "LIVE-X", 10).await;
    let token = c.customer(&s).await;

    let (st, placed) = c.place(&s, &token, "LIVE-X", 1).await;
    assert_eq!(st, 202, "{placed}");
    let id = placed["id"].as_str().expect("id").to_owned();
    let mut events = open(&c, port, &id, &token).await;
    let (_, _, now) = events
        .next_event(Duration::from_secs(10))
        .await
        .expect("the order now");
    assert!(now.contains("\"pending\""), "{now}");

    let mut worker = s.spawn("worker");
    let (eid, _, data) = events
        .next_event(Duration::from_secs(25))
        .await
        .expect("the worker's change reaches the other API's stream");
    assert_eq!(eid.as_deref(), Some("2"));
    assert!(data.contains("\"completed\""), "{data}");
    assert_eq!(events.next(Duration::from_secs(10)).await, Said::End);

    // A process that shuts down ends its streams, so clients resume elsewhere.
    assert_eq!(worker.terminate(), Some(0));
    let (_, placed) = c.place(&s, &token, "LIVE-X", 1).await;
    let id = placed["id"].as_str().expect("id").to_owned();
    let mut events = open(&c, port, &id, &token).await;
    events
        .next_event(Duration::from_secs(10))
        .await
        .expect("the order now");
    let ended = tokio::spawn(async move { events.next_event(Duration::from_secs(25)).await });
    let code = tokio::task::spawn_blocking(move || api2.terminate())
        .await
        .expect("terminated");
    assert_eq!(code, Some(0), "a clean exit");
    assert_eq!(
        ended.await.expect("the reader"),
        None,
        "the stream ended with its process"
    );
}
