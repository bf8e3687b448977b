//! The shared Store suite against a real MariaDB/MySQL, one fresh database per test.

mod fixture;

chat_engine::store_conformance!(fixture::mysql);
