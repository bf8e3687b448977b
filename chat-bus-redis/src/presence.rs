//! [`RedisPresence`]: presence shared by every node through Redis
//! (`chat_engine::Presence`).
//!
//! Every key shares one hash tag, so the scripts that read and write
//! several of them run atomically (on a Redis Cluster too: the keys live
//! in one slot). Per user, a set of the nodes with an entry for them; per
//! entry (`node:user`; node ids hold no `:`), its expiry in one sorted set,
//! which a sweep reads from its low end, and its last refresh in a hash;
//! per user who went offline, when they were last seen. Times are the
//! nodes' (milliseconds since the epoch), so the nodes' clocks must agree
//! to well within the TTL. Redis keeps this in memory only: after a Redis
//! restart each node's next renewal puts its users back (announced online
//! again), and last-seen times start over.

use chat_engine::{BusError, Presence, Timestamp, UserId, UserPresence, time};
use redis::Script;

use crate::RedisBusError;
use crate::publisher::Link;

/// The functions every script shares. `KEYS[1]` is the base of every key,
/// `ARGV[1]` this node's id, `ARGV[2]` the time now.
macro_rules! lua_with_helpers {
    ($body:literal) => {
        concat!(
            r"
local base, node, now = KEYS[1], ARGV[1], tonumber(ARGV[2])
local expiries, refreshed, seen = base .. ':exp', base .. ':at', base .. ':seen'
local function nodes_of(user) return base .. ':n:' .. user end
local function drop_entry(n, user)
  local entry = n .. ':' .. user
  redis.call('SREM', nodes_of(user), n)
  redis.call('ZREM', expiries, entry)
  redis.call('HDEL', refreshed, entry)
end
-- Drops the user's expired entries: whether a live one remains, and the
-- latest refresh of those dropped.
local function prune(user)
  local live, latest = false, nil
  for _, n in ipairs(redis.call('SMEMBERS', nodes_of(user))) do
    local entry = n .. ':' .. user
    local expires = tonumber(redis.call('ZSCORE', expiries, entry))
    if expires and expires > now then
      live = true
    else
      local at = tonumber(redis.call('HGET', refreshed, entry))
      if at and (not latest or at > latest) then latest = at end
      drop_entry(n, user)
    end
  end
  return live, latest
end
-- Records the user on this node until `expires`: whether that brings them online.
local function put(user, expires)
  local was_online = prune(user)
  local entry = node .. ':' .. user
  redis.call('SADD', nodes_of(user), node)
  redis.call('ZADD', expiries, expires, entry)
  redis.call('HSET', refreshed, entry, now)
  return not was_online
end
",
            $body
        )
    };
}

/// `ARGV[3]` expiry, `ARGV[4]` user: 1 when this brings them online.
const ARRIVE: &str = lua_with_helpers!(
    r"
if put(ARGV[4], ARGV[3]) then return 1 end
return 0
"
);

/// `ARGV[3]` user: 1 when this takes them offline.
const LEAVE: &str = lua_with_helpers!(
    r"
local user = ARGV[3]
drop_entry(node, user)
if prune(user) then return 0 end
redis.call('HSET', seen, user, now)
return 1
"
);

/// `ARGV[3]` expiry, `ARGV[4..]` users: those this brings online.
const REFRESH: &str = lua_with_helpers!(
    r"
local back = {}
for i = 4, #ARGV do
  if put(ARGV[i], ARGV[3]) then table.insert(back, ARGV[i]) end
end
return back
"
);

/// Up to `ARGV[3]` expired entries: `user, last seen` for each user this
/// takes offline.
const SWEEP: &str = lua_with_helpers!(
    r"
local gone = {}
for _, entry in ipairs(redis.call('ZRANGEBYSCORE', expiries, '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))) do
  local n, user = string.match(entry, '^([^:]*):(.*)$')
  local at = tonumber(redis.call('HGET', refreshed, entry))
  drop_entry(n, user)
  local live, latest = prune(user)
  if not live then
    if at and (not latest or at > latest) then latest = at end
    local before = tonumber(redis.call('HGET', seen, user))
    if before and (not latest or before > latest) then latest = before end
    if latest then
      redis.call('HSET', seen, user, latest)
      table.insert(gone, user)
      table.insert(gone, latest)
    end
  end
end
return gone
"
);

/// `ARGV[3..]` users: for each, -1 when online, else when last seen (0: never).
const READ: &str = lua_with_helpers!(
    r"
local answers = {}
for i = 3, #ARGV do
  local user, online = ARGV[i], false
  for _, n in ipairs(redis.call('SMEMBERS', nodes_of(user))) do
    local expires = tonumber(redis.call('ZSCORE', expiries, n .. ':' .. user))
    if expires and expires > now then online = true end
  end
  if online then
    table.insert(answers, -1)
  else
    table.insert(answers, tonumber(redis.call('HGET', seen, user)) or 0)
  end
end
return answers
"
);

/// Expired entries one sweep takes at most (the next takes the rest).
const SWEEP_BATCH: u32 = 1_000;

/// One node's presence in Redis; from [`RedisBus`](crate::RedisBus), which
/// hands it to the chat service as its bus's presence.
#[derive(Clone)]
pub struct RedisPresence {
    connection: Link,
    base: String,
    node: String,
    scripts: Scripts,
}

#[derive(Clone)]
struct Scripts {
    arrive: Script,
    leave: Script,
    refresh: Script,
    sweep: Script,
    read: Script,
}

impl std::fmt::Debug for RedisPresence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisPresence")
            .field("base", &self.base)
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

impl RedisPresence {
    pub(crate) fn new(connection: Link, prefix: &str, node: &str) -> Self {
        Self {
            connection,
            base: format!("{{{prefix}presence}}"),
            node: node.to_owned(),
            scripts: Scripts {
                arrive: Script::new(ARRIVE),
                leave: Script::new(LEAVE),
                refresh: Script::new(REFRESH),
                sweep: Script::new(SWEEP),
                read: Script::new(READ),
            },
        }
    }

    /// Runs `script` with this node's key base, id and `now`, then `args`.
    async fn call<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        now: Timestamp,
        args: &[&str],
    ) -> Result<T, BusError> {
        let mut invocation = script.key(&self.base);
        invocation.arg(&self.node).arg(time::to_millis(now));
        for arg in args {
            invocation.arg(*arg);
        }
        let mut connection = self.connection.clone();
        invocation
            .invoke_async(&mut connection)
            .await
            .map_err(|error| BusError::from(RedisBusError::Redis(error)))
    }
}

fn millis(at: Timestamp) -> String {
    time::to_millis(at).to_string()
}

#[async_trait::async_trait]
impl Presence for RedisPresence {
    async fn arrive(
        &self,
        user: &UserId,
        now: Timestamp,
        expires: Timestamp,
    ) -> Result<bool, BusError> {
        let online: i64 = self
            .call(
                &self.scripts.arrive,
                now,
                &[&millis(expires), user.as_str()],
            )
            .await?;
        Ok(online == 1)
    }

    async fn leave(&self, user: &UserId, now: Timestamp) -> Result<bool, BusError> {
        let offline: i64 = self
            .call(&self.scripts.leave, now, &[user.as_str()])
            .await?;
        Ok(offline == 1)
    }

    async fn refresh(
        &self,
        users: &[UserId],
        now: Timestamp,
        expires: Timestamp,
    ) -> Result<Vec<UserId>, BusError> {
        let expires = millis(expires);
        let mut args = vec![expires.as_str()];
        args.extend(users.iter().map(UserId::as_str));
        let back: Vec<String> = self.call(&self.scripts.refresh, now, &args).await?;
        back.into_iter().map(user_id).collect()
    }

    async fn sweep(&self, now: Timestamp) -> Result<Vec<(UserId, Timestamp)>, BusError> {
        let batch = SWEEP_BATCH.to_string();
        let gone: Vec<(String, i64)> = self.call(&self.scripts.sweep, now, &[&batch]).await?;
        gone.into_iter()
            .map(|(user, seen)| Ok((user_id(user)?, time::from_millis(seen))))
            .collect()
    }

    async fn read(&self, users: &[UserId], now: Timestamp) -> Result<Vec<UserPresence>, BusError> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let args: Vec<&str> = users.iter().map(UserId::as_str).collect();
        let answers: Vec<i64> = self.call(&self.scripts.read, now, &args).await?;
        Ok(users
            .iter()
            .zip(answers)
            .map(|(user, answer)| UserPresence {
                user_id: user.clone(),
                online: answer == -1,
                last_seen: (answer > 0).then(|| time::from_millis(answer)),
            })
            .collect())
    }
}

/// A user id as the scripts return it (they only return ids they were given).
fn user_id(raw: String) -> Result<UserId, BusError> {
    UserId::new(raw).map_err(|error| BusError::from(RedisBusError::Corrupt(error.to_string())))
}
