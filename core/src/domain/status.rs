use serde::{Deserialize, Serialize};

/// Where an order is in its life. The transition table is the whole story:
///
/// | from      | to                               |
/// |-----------|----------------------------------|
/// | pending   | completed, failed, cancelled     |
/// | completed | (terminal)                       |
/// | failed    | (terminal)                       |
/// | cancelled | (terminal)                       |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Pending,
    Completed,
    Failed,
    Cancelled,
}

impl OrderStatus {
    pub fn can_become(self, next: OrderStatus) -> bool {
        matches!(
            (self, next),
            (
                OrderStatus::Pending,
                OrderStatus::Completed | OrderStatus::Failed | OrderStatus::Cancelled
            )
        )
    }

    pub fn is_terminal(self) -> bool {
        !matches!(self, OrderStatus::Pending)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Completed => "completed",
            OrderStatus::Failed => "failed",
            OrderStatus::Cancelled => "cancelled",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::OrderStatus::*;

    #[test]
    fn only_pending_moves() {
        let all = [Pending, Completed, Failed, Cancelled];
        for from in all {
            for to in all {
                let expected = from == Pending && to != Pending;
                assert_eq!(from.can_become(to), expected, "{from:?} -> {to:?}");
            }
        }
        assert!(!Pending.is_terminal());
        assert!(Completed.is_terminal() && Failed.is_terminal() && Cancelled.is_terminal());
    }
}
