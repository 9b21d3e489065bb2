//! Every command the driver sends, counted through its command monitoring events:
//! the driver's own retries, transactions' `commitTransaction`, cursors' `getMore` and
//! the `run_command` writes included, which counting at our call sites would miss.

use mongodb::bson::{Bson, Document};
use mongodb::event::command::CommandEvent;
use mongodb::event::EventHandler;
use orderflow_core::ports::CallMeter;
use std::sync::Arc;

/// A command event handler that counts each command as it is sent, under its name and
/// collection, and each failed one under its name.
pub(crate) fn command_counter(meter: Arc<dyn CallMeter>) -> EventHandler<CommandEvent> {
    EventHandler::callback(move |event: CommandEvent| match event {
        CommandEvent::Started(e) => meter.store_command(&e.command_name, collection_of(&e.command)),
        CommandEvent::Failed(e) => meter.store_failure(&e.command_name),
        _ => {}
    })
}

/// The collection a command addresses: the value of its first key (`{find: "orders"}`),
/// or `collection` for `getMore`; "" for commands on none (`commitTransaction: 1`).
fn collection_of(command: &Document) -> &str {
    match command.iter().next() {
        Some((_, Bson::String(name))) => name,
        _ => command.get_str("collection").unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::collection_of;
    use mongodb::bson::doc;

    #[test]
    fn the_collection_is_the_first_value_or_a_cursors() {
        assert_eq!(
            collection_of(&doc! {"find": "orders", "filter": {}}),
            "orders"
        );
        assert_eq!(
            collection_of(&doc! {"getMore": 7_i64, "collection": "products"}),
            "products"
        );
        assert_eq!(collection_of(&doc! {"commitTransaction": 1}), "");
    }
}
