use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new id. UUIDv7 so ids sort roughly by creation time, which keeps
            /// database indexes append-mostly.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn parse(raw: &str) -> Option<Self> {
                Uuid::parse_str(raw).ok().map(Self)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// Identifies a user for life; never reused.
    UserId
);
id_type!(
    /// Identifies an order; also the queue message's subject.
    OrderId
);
id_type!(
    /// Identifies a webhook endpoint.
    WebhookId
);
id_type!(
    /// Identifies one delivery attempt; UUIDv7, so newer attempts sort later.
    AttemptId
);
