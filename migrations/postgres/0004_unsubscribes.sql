-- Optional mail a person stopped, by kind (the unsubscribe links, RFC 8058).
CREATE TABLE unsubscribes (
    person          TEXT NOT NULL,
    kind            TEXT NOT NULL,
    unsubscribed_at BIGINT NOT NULL,
    PRIMARY KEY (person, kind)
);
