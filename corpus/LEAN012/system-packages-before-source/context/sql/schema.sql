CREATE TABLE hits (path TEXT);
