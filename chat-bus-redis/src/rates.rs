//! [`RedisRates`]: per-user write rates counted in Redis for every node
//! (`chat_engine::SharedRates`). Each bucket is one key holding its
//! "theoretical arrival time" (GCRA, the generic cell rate algorithm: the
//! token bucket's behaviour in one number), read and moved by one Lua
//! script on Redis's clock, so a check is one round trip, atomic across
//! nodes, and unaffected by skew between the nodes' clocks.

use std::time::Duration;

use chat_engine::{BoxError, Rate, SharedRates};
use redis::Script;

use crate::publisher::Link;

/// Takes one write from the bucket `KEYS[1]`: `ARGV[1]` is the interval
/// between writes, `ARGV[2]` how far ahead of now the bucket may run (the
/// burst), both in microseconds. Answers 0 when allowed, else the
/// microseconds until a write will be.
const TAKE: &str = r"
-- Redis before 7 replicates a script by its effects only when asked, and
-- refuses a write after TIME otherwise.
if redis.replicate_commands then redis.replicate_commands() end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local due = tonumber(redis.call('GET', KEYS[1])) or now
if due < now then due = now end
local next_due = due + interval
if next_due - now > tolerance then
  return next_due - now - tolerance
end
redis.call('SET', KEYS[1], next_due, 'PX', math.ceil((next_due - now) / 1000) + 1)
return 0
";

/// Write rates shared by every node through Redis; from
/// [`RedisBus::rates`](crate::RedisBus::rates), sharing its connection.
#[derive(Clone)]
pub struct RedisRates {
    connection: Link,
    prefix: String,
    script: Script,
}

impl std::fmt::Debug for RedisRates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRates")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisRates {
    pub(crate) fn new(connection: Link, prefix: &str) -> Self {
        Self {
            connection,
            prefix: format!("{prefix}rate:"),
            script: Script::new(TAKE),
        }
    }
}

#[async_trait::async_trait]
impl SharedRates for RedisRates {
    async fn take(&self, key: &str, rate: Rate) -> Result<Result<(), Duration>, BoxError> {
        let interval = 60_000_000 / u64::from(rate.per_minute.max(1));
        let tolerance = interval * u64::from(rate.burst.max(1));
        let mut connection = self.connection.clone();
        let wait: u64 = self
            .script
            .key(format!("{}{key}", self.prefix))
            .arg(interval)
            .arg(tolerance)
            .invoke_async(&mut connection)
            .await?;
        Ok(if wait == 0 {
            Ok(())
        } else {
            Err(Duration::from_micros(wait))
        })
    }
}
