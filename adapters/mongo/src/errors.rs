use mongodb::error::{Error, ErrorKind, WriteFailure};

/// True for a duplicate-key error (code 11000), however the driver wraps it.
pub fn is_duplicate(e: &Error) -> bool {
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == 11000,
        ErrorKind::Command(c) => c.code == 11000,
        ErrorKind::InsertMany(m) => m
            .write_errors
            .as_ref()
            .is_some_and(|es| es.iter().any(|w| w.code == 11000)),
        _ => e.to_string().contains("E11000"),
    }
}

/// True when the server gave up on an operation at its `maxTimeMS` (code 50); it has
/// abandoned the operation, which will not be applied later.
pub fn is_max_time_expired(e: &Error) -> bool {
    matches!(e.kind.as_ref(), ErrorKind::Command(c) if c.code == 50)
}

/// A stored document that does not parse back into the domain: a bug or a manual edit.
#[derive(Debug, thiserror::Error)]
#[error("corrupt {collection} document: {reason}")]
pub struct Corrupt {
    pub collection: &'static str,
    pub reason: String,
}
