/// The schema of `sql/events.sql`, compiled in so the tool needs no file beside it at run time.
/// `WarehouseTests` checks that the two texts stay identical.
public enum EventSchema {
    public static let table = "responsys_events"

    public static let sql = """
        -- The events of import-events, as loaded by the sqlite sink (Warehouse/SQLiteEventSink).
        -- One row per event; event_id is the transform's deterministic _event_id, so loading a file again
        -- inserts nothing new. payload holds the whole normalized event as JSON (json_extract works on it).
        -- Times are ISO 8601 UTC text ("2024-03-07T05:58:31Z"), which sorts in time order.
        CREATE TABLE IF NOT EXISTS responsys_events (
            event_id          TEXT    NOT NULL PRIMARY KEY,
            stream            TEXT    NOT NULL,
            event_type        TEXT    NOT NULL,
            channel           TEXT    NOT NULL,
            account_id        INTEGER NOT NULL,
            list_id           INTEGER,
            riid              INTEGER,
            customer_id       TEXT,
            email             TEXT,
            event_captured_at TEXT,
            event_stored_at   TEXT,
            campaign_id       INTEGER,
            launch_id         INTEGER,
            source_file       TEXT    NOT NULL,
            source_line       INTEGER NOT NULL,
            payload           TEXT    NOT NULL CHECK (json_valid(payload))
        );
        CREATE INDEX IF NOT EXISTS responsys_events_by_riid ON responsys_events (riid);
        CREATE INDEX IF NOT EXISTS responsys_events_by_email ON responsys_events (email);
        CREATE INDEX IF NOT EXISTS responsys_events_by_type_time ON responsys_events (event_type, event_captured_at);
        CREATE INDEX IF NOT EXISTS responsys_events_by_launch ON responsys_events (campaign_id, launch_id);
        CREATE INDEX IF NOT EXISTS responsys_events_by_source ON responsys_events (source_file, source_line);
        """
}
