// A token store for `new OAuthClient({ store })` on PostgreSQL with the npm `pg`
// package: the whole JS store contract, for web backends running several
// instances on one database.
//
//   import pg from 'pg'
//   const store = await pgStore(new pg.Pool({ connectionString: process.env.DATABASE_URL }))
//   const client = new OAuthClient({ clientName: 'My App', store, sealKeys: [{ id: '2025-01', key: process.env.SEAL_KEY }] })
//
// - get/set/delete/keys: one row per key. `set(key, value, expiresAt)` records
//   when a pending sign-in may be forgotten; such rows are invisible after that
//   and swept by later expiring writes.
// - take: `DELETE ... RETURNING`, so of two instances burning the same pending
//   sign-in, the database gives it to one.
// - lock: a session-level advisory lock on a client checked out of the pool for
//   as long as the lock is held; the returned function unlocks and returns the
//   client. If the process dies, the database ends its session and the lock.
//   In this process, waiters for one key queue before checking a client out,
//   and at most half the pool holds locks: a lock holder always finds a client
//   for its own reads and writes, however many requests wait behind it.
//
// With `sealKeys` on the client, every value is sealed before it gets here, so
// the table holds no readable token.

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/

/** A store on `pool` in table `table` (created if missing). */
export async function pgStore(pool, { table = 'mcp_oauth_store' } = {}) {
  if (!IDENTIFIER.test(table)) throw new Error(`table name ${JSON.stringify(table)} must be lowercase letters, digits and _`)
  const client = await pool.connect()
  try {
    // Instances starting together must not race on CREATE TABLE.
    await client.query('BEGIN')
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`mcp-oauth:create:${table}`])
    await client.query(`CREATE TABLE IF NOT EXISTS ${table} (
      key text PRIMARY KEY,
      value text NOT NULL,
      expires_at timestamptz,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`)
    await client.query('COMMIT')
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw error
  } finally {
    client.release()
  }

  const live = '(expires_at IS NULL OR expires_at > now())'
  const queues = new Map() // lock name -> the promise the next waiter waits for
  const holders = semaphore(Math.max(1, Math.floor((pool.options.max ?? 10) / 2)))
  return {
    async get(key) {
      const { rows } = await pool.query(`SELECT value FROM ${table} WHERE key = $1 AND ${live}`, [key])
      return rows[0]?.value ?? null
    },
    async set(key, value, expiresAt) {
      const at = expiresAt == null ? null : expiresAt / 1000
      await pool.query(
        `WITH swept AS (DELETE FROM ${table} WHERE $3::float8 IS NOT NULL AND expires_at < now())
         INSERT INTO ${table} (key, value, expires_at) VALUES ($1, $2, to_timestamp($3::float8))
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at, updated_at = now()`,
        [key, value, at],
      )
    },
    async delete(key) {
      await pool.query(`DELETE FROM ${table} WHERE key = $1`, [key])
    },
    async keys() {
      const { rows } = await pool.query(`SELECT key FROM ${table} WHERE ${live} ORDER BY key`)
      return rows.map((row) => row.key)
    },
    async take(key) {
      const { rows } = await pool.query(`DELETE FROM ${table} WHERE key = $1 RETURNING value, ${live} AS live`, [key])
      return rows[0]?.live ? rows[0].value : null
    },
    async lock(key) {
      const id = `mcp-oauth:${table}:${key}`
      const previous = queues.get(key) ?? Promise.resolve()
      let leave
      const turn = new Promise((resolve) => (leave = resolve))
      const tail = previous.then(() => turn)
      queues.set(key, tail)
      const done = () => {
        leave()
        if (queues.get(key) === tail) queues.delete(key)
      }
      await previous
      const free = await holders.acquire()
      let held
      try {
        held = await pool.connect()
        await held.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [id])
      } catch (error) {
        held?.release(error)
        free()
        done()
        throw error
      }
      let released = false
      return async () => {
        if (released) return
        released = true
        try {
          await held.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [id])
          held.release()
        } catch (error) {
          // Closing the session releases its locks.
          held.release(error)
        } finally {
          free()
          done()
        }
      }
    },
  }
}

/** A counting semaphore: `await acquire()` resolves to its release function. */
function semaphore(count) {
  const waiting = []
  const release = () => {
    const next = waiting.shift()
    if (next) next(release)
    else count++
  }
  return {
    acquire() {
      if (count > 0) {
        count--
        return Promise.resolve(release)
      }
      return new Promise((resolve) => waiting.push(resolve))
    },
  }
}
