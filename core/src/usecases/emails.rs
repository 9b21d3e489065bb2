use crate::domain::{Email, Money, Order, OrderStatus};
use crate::ports::OutgoingEmail;
use std::fmt::Write;

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The email that tells a customer how their order ended: completed, failed, or
/// cancelled by an administrator (a customer's own cancel is not mailed).
pub fn outcome_email(order: &Order, to: &Email) -> OutgoingEmail {
    let currency = order.currency;
    let (subject, headline, kind) = match order.status {
        OrderStatus::Completed => (
            format!("Your order {} is confirmed", order.id),
            "Thank you! Your order is confirmed.",
            "completed",
        ),
        OrderStatus::Cancelled => (
            format!("Your order {} was cancelled", order.id),
            "Your order was cancelled by our staff. You have not been charged.",
            "cancelled",
        ),
        _ => (
            format!("We could not complete your order {}", order.id),
            "Sorry, we could not complete your order. You have not been charged.",
            "failed",
        ),
    };
    let reason = order.history.last().and_then(|h| h.reason.clone());

    let mut text = format!("{headline}\n\nOrder: {}\n", order.id);
    if let Some(r) = &reason {
        let _ = writeln!(text, "Reason: {r}");
    }
    text.push('\n');
    for l in &order.lines {
        let _ = writeln!(
            text,
            "  {} x {} ({}) @ {} = {}",
            l.quantity.get(),
            l.name,
            l.sku,
            l.unit_price_cents.of(currency),
            Money::new(l.line_total_cents(), currency)
        );
    }
    let _ = writeln!(text, "\nTotal: {}", order.total());

    let mut html = format!(
        "<p>{}</p><p>Order: <code>{}</code></p>",
        escape(headline),
        order.id
    );
    if let Some(r) = &reason {
        let _ = write!(html, "<p>Reason: {}</p>", escape(r));
    }
    html.push_str(
        "<table><tr><th>Item</th><th>SKU</th><th>Qty</th><th>Unit</th><th>Total</th></tr>",
    );
    for l in &order.lines {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&l.name),
            escape(l.sku.as_str()),
            l.quantity.get(),
            l.unit_price_cents.of(currency),
            Money::new(l.line_total_cents(), currency)
        );
    }
    let _ = write!(
        html,
        "</table><p><strong>Total: {}</strong></p>",
        order.total()
    );

    OutgoingEmail {
        to: to.clone(),
        subject,
        text,
        html,
        reference: format!("order-{}-{kind}", order.id),
    }
}

/// The email with a password-reset link. `reference` names it (never the token: the
/// link is the one secret, and it appears in the body only).
pub fn reset_email(
    to: &Email,
    link: &str,
    valid_for: std::time::Duration,
    reference: String,
) -> OutgoingEmail {
    let minutes = (valid_for.as_secs() / 60).max(1);
    let text = format!(
        "Someone asked to reset the password of your Orderflow account.\n\n\
         To choose a new one, open this link within {minutes} minutes:\n\n{link}\n\n\
         It works once. If you did not ask, ignore this email: your password stays as it is.\n"
    );
    let html = format!(
        "<p>Someone asked to reset the password of your Orderflow account.</p>\
         <p>To choose a new one, open <a href=\"{link}\">this link</a> within {minutes} minutes. \
         It works once.</p><p>If you did not ask, ignore this email: your password stays as it is.</p>",
        link = escape(link)
    );
    OutgoingEmail {
        to: to.clone(),
        subject: "Reset your Orderflow password".into(),
        text,
        html,
        reference,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reset_email_carries_the_link_in_both_parts_and_not_in_its_name() {
        let link = "https://shop.example/reset?a=1&token=abc_DEF-123";
        let e = reset_email(
            &Email::parse("ada@example.com").unwrap(),
            link,
            std::time::Duration::from_secs(1800),
            "password-reset-0123".into(),
        );
        assert!(e.text.contains(link), "{}", e.text);
        assert!(e.text.contains("30 minutes"), "{}", e.text);
        assert!(
            e.html
                .contains("href=\"https://shop.example/reset?a=1&amp;token=abc_DEF-123\""),
            "{}",
            e.html
        );
        assert!(!e.reference.contains("abc_DEF"));
    }

    #[test]
    fn escapes_html() {
        assert_eq!(escape("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
    }

    #[test]
    fn every_value_from_a_user_or_an_admin_is_escaped_in_the_html() {
        use crate::domain::{NewOrderLine, Origin, Product, ProductName, Quantity, Sku, UserId};
        let hostile = "<img src=x onerror=alert(1)> & \"quotes\"";
        let product = Product {
            sku: Sku::parse("XSS-1").unwrap(),
            name: ProductName::parse(hostile).unwrap(),
            price_cents: crate::domain::Price::parse(100).unwrap(),
            currency: crate::domain::Currency::USD,
            stock: 1,
        };
        let line = NewOrderLine {
            sku: product.sku.clone(),
            quantity: Quantity::from_i64(1).unwrap(),
        };
        let mut order = Order::place(
            UserId::new(),
            &[(line, &product)],
            None,
            Origin::default(),
            chrono::Utc::now(),
        )
        .unwrap();
        order
            .transition(
                OrderStatus::Failed,
                chrono::Utc::now(),
                Some(format!("insufficient stock for <{hostile}>")),
            )
            .unwrap();
        let email = outcome_email(&order, &Email::parse("ada@example.com").unwrap());
        assert!(!email.html.contains("<img"), "{}", email.html);
        assert!(!email.html.contains("\"quotes\""), "{}", email.html);
        assert!(
            email
                .html
                .contains("&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quotes&quot;"),
            "{}",
            email.html
        );
        assert!(
            email.text.contains(hostile),
            "the text part is plain text, as typed"
        );
    }
}
