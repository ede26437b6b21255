DROP TABLE instances;
DROP TABLE deliveries;
DROP TABLE activities;
DROP TABLE outbox_events;
