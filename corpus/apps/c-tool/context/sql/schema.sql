CREATE TABLE IF NOT EXISTS requests (
    id         INTEGER PRIMARY KEY,
    ts         TEXT    NOT NULL,
    host       TEXT    NOT NULL,
    path       TEXT    NOT NULL,
    status     INTEGER NOT NULL,
    latency_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_host ON requests (host);
