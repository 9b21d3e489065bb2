//! What an administrator looks for in the order desk: filters that combine (all must
//! hold), over every customer's orders.

use super::{Order, OrderStatus, ParseError, Sku, UserId};
use chrono::{DateTime, Utc};

/// Filters over all orders; `None` leaves that dimension open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderSearch {
    pub status: Option<OrderStatus>,
    pub user_id: Option<UserId>,
    /// Orders with at least one line of this SKU.
    pub sku: Option<Sku>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created strictly before.
    pub created_to: Option<DateTime<Utc>>,
}

impl OrderSearch {
    /// Checks the filters against each other: an empty time range is a mistake worth
    /// saying, not an empty page.
    pub fn new(
        status: Option<OrderStatus>,
        user_id: Option<UserId>,
        sku: Option<Sku>,
        created_from: Option<DateTime<Utc>>,
        created_to: Option<DateTime<Utc>>,
    ) -> Result<Self, ParseError> {
        if let (Some(from), Some(to)) = (created_from, created_to) {
            if from >= to {
                return Err(ParseError::new("created_to", "must be after created_from"));
            }
        }
        Ok(Self {
            status,
            user_id,
            sku,
            created_from,
            created_to,
        })
    }

    /// Whether `order` passes every filter. Stores that cannot ask an index use this,
    /// so the meaning of each filter is stated once.
    pub fn matches(&self, order: &Order) -> bool {
        self.status.is_none_or(|s| order.status == s)
            && self.user_id.is_none_or(|u| order.user_id == u)
            && self
                .sku
                .as_ref()
                .is_none_or(|sku| order.lines.iter().any(|l| l.sku == *sku))
            && self.created_from.is_none_or(|t| order.created_at >= t)
            && self.created_to.is_none_or(|t| order.created_at < t)
    }
}

impl OrderStatus {
    /// The status a client names, as `as_str` spells it.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw {
            "pending" => Ok(Self::Pending),
            "completed" => Ok(Self::Completed),
            "failed" => Ok(Self::Failed),
            "cancelled" => Ok(Self::Cancelled),
            _ => Err(ParseError::new(
                "status",
                "must be pending, completed, failed or cancelled",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_or_backwards_range_is_refused() {
        let t = Utc::now();
        assert!(OrderSearch::new(None, None, None, Some(t), Some(t)).is_err());
        assert!(OrderSearch::new(
            None,
            None,
            None,
            Some(t),
            Some(t - chrono::Duration::seconds(1))
        )
        .is_err());
        assert!(OrderSearch::new(None, None, None, Some(t), None).is_ok());
    }

    #[test]
    fn statuses_parse_as_they_are_spelled() {
        for s in [
            OrderStatus::Pending,
            OrderStatus::Completed,
            OrderStatus::Failed,
            OrderStatus::Cancelled,
        ] {
            assert_eq!(OrderStatus::parse(s.as_str()), Ok(s));
        }
        assert!(OrderStatus::parse("Pending").is_err());
        assert!(OrderStatus::parse("").is_err());
    }
}
