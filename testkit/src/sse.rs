//! Reading a `text/event-stream` answer the way a browser's `EventSource` does, for
//! the live order status tests.

use std::time::Duration;

/// One thing a stream said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said {
    Event {
        id: Option<String>,
        event: Option<String>,
        data: String,
    },
    /// A comment line (`: …`), such as the heartbeat.
    Comment(String),
    /// The server ended the stream.
    End,
}

/// An open stream.
pub struct EventStream {
    res: reqwest::Response,
    buf: String,
    ended: bool,
}

impl EventStream {
    pub fn new(res: reqwest::Response) -> Self {
        Self {
            res,
            buf: String::new(),
            ended: false,
        }
    }

    /// The next event, comment or end; panics if nothing comes within `within`.
    pub async fn next(&mut self, within: Duration) -> Said {
        tokio::time::timeout(within, self.next_inner())
            .await
            .unwrap_or_else(|_| panic!("the stream said nothing within {within:?}"))
    }

    /// The next event, skipping comments; `None` when the stream ended.
    pub async fn next_event(
        &mut self,
        within: Duration,
    ) -> Option<(Option<String>, Option<String>, String)> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Said::Event { id, event, data } => return Some((id, event, data)),
                Said::Comment(_) => continue,
                Said::End => return None,
            }
        }
    }

    async fn next_inner(&mut self) -> Said {
        loop {
            if let Some(said) = self.take_block() {
                return said;
            }
            if self.ended {
                return Said::End;
            }
            match self.res.chunk().await {
                Ok(Some(bytes)) => self.buf.push_str(&String::from_utf8_lossy(&bytes)),
                Ok(None) | Err(_) => self.ended = true,
            }
        }
    }

    /// The first complete block (lines up to a blank line) in the buffer, parsed.
    fn take_block(&mut self) -> Option<Said> {
        let normalized = self.buf.replace("\r\n", "\n");
        self.buf = normalized;
        let end = self.buf.find("\n\n")?;
        let block: String = self.buf[..end].to_owned();
        self.buf.drain(..end + 2);
        let (mut id, mut event, mut data, mut comment) = (None, None, Vec::new(), None);
        for line in block.lines() {
            if let Some(c) = line.strip_prefix(':') {
                comment = Some(c.trim().to_owned());
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
            match field {
                "id" => id = Some(value),
                "event" => event = Some(value),
                "data" => data.push(value),
                _ => {}
            }
        }
        if data.is_empty() && id.is_none() && event.is_none() {
            return Some(Said::Comment(comment.unwrap_or_default()));
        }
        Some(Said::Event {
            id,
            event,
            data: data.join("\n"),
        })
    }
}
