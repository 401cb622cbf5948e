/// A table for partitioning experiments, generated inside PostgreSQL (deterministic under
/// `setseed`): `ts` in insertion order over 60 days from 2026-01-01, `user_id` with heavy hitters
/// (a cubed uniform over 0..<50,000), a `category` whose mix drifts (`d` appears in the last fifth),
/// an amount and a 32-character note. About 90 bytes a row, 8 KiB pages hold ~85.
public enum PartitioningScenario {
    public static func createTable(schema: String, rows: Int, seed: Double = 0.42, table: String = "events") -> [String] {
        [
            "CREATE SCHEMA IF NOT EXISTS \(schema)",
            "SELECT setseed(\(seed))",
            "CREATE TABLE \(schema).\(table) (id bigint, ts timestamptz, user_id int, category text, amount numeric, note text)",
            """
            INSERT INTO \(schema).\(table)
              SELECT g, timestamptz '2026-01-01' + (g * interval '60 days' / \(rows)),
                     floor(power(random(), 3) * 50000)::int,
                     CASE WHEN g > \(rows * 4 / 5) AND random() < 0.5 THEN 'd' ELSE (ARRAY['a','a','a','b','b','c'])[1 + floor(random() * 6)::int] END,
                     round((random() * 100)::numeric, 2), md5(g::text)
              FROM generate_series(1, \(rows)) g
            """,
            "ANALYZE \(schema).\(table)",
        ]
    }

    /// The same table in SQLite (primary key (id, ts); `ts` as UTC text, declared TIMESTAMP), its
    /// draws from multiplicative hashes of the row number (deterministic; SQLite's random() has no seed).
    public static func createSQLiteTable(rows: Int, table: String = "events") -> [String] {
        func uniform(_ multiplier: Int) -> String { "((n * \(multiplier)) % 4294967296) / 4294967296.0" }
        let user = uniform(2_654_435_761), mix = uniform(2_246_822_519), pick = uniform(3_266_489_917), amount = uniform(668_265_263)
        return [
            "CREATE TABLE \(table) (id INTEGER NOT NULL, ts TIMESTAMP NOT NULL, user_id INTEGER, category TEXT, amount REAL, note TEXT, PRIMARY KEY (id, ts))",
            """
            WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < \(rows))
            INSERT INTO \(table) (id, ts, user_id, category, amount, note)
              SELECT n, strftime('%Y-%m-%d %H:%M:%S', 1767225600 + n * 5184000 / \(rows), 'unixepoch'),
                     CAST(\(user) * \(user) * \(user) * 50000 AS INTEGER),
                     CASE WHEN n > \(rows * 4 / 5) AND \(mix) < 0.5 THEN 'd' ELSE substr('aaabbc', 1 + CAST(\(pick) * 6 AS INTEGER), 1) END,
                     round(\(amount) * 100, 2), hex(randomblob(16))
              FROM g
            """,
        ]
    }

    /// A mixed workload over the table: half-day reports, user lookups (heavy hitters among
    /// them), category counts; `count` statements, deterministic.
    public static func mixedWorkload(count: Int) -> [String] {
        (0..<count).map { index in
            switch index % 10 {
            case 0, 1, 2, 3:
                let day = 1 + (index / 10) % 59
                let (month, dayOfMonth) = day <= 31 ? (1, day) : (2, day - 31)
                let date = "2026-\(month < 10 ? "0" : "")\(month)-\(dayOfMonth < 10 ? "0" : "")\(dayOfMonth)"
                return "SELECT count(*), sum(amount) FROM events WHERE ts >= '\(date) 00:00:00+00' AND ts < '\(date) 12:00:00+00'"
            case 4, 5, 6, 7:
                return "SELECT * FROM events WHERE user_id = \((index * 7919) % 50_000)"
            case 8:
                return "SELECT count(*) FROM events WHERE category = '\(["a", "b", "c", "d"][(index / 10) % 4])'"
            default:
                return "SELECT category, count(*) FROM events e WHERE e.ts >= '2026-02-0\(1 + (index / 10) % 9)' GROUP BY category"
            }
        }
    }

    /// The statements as a PostgreSQL server log (`log_min_duration_statement = 0`), one a second.
    public static func serverLog(_ statements: [String]) -> String {
        var log = ""
        log.reserveCapacity(statements.count * 140)
        for (index, statement) in statements.enumerated() {
            let hour = (index / 3600) % 24, minute = (index / 60) % 60, second = index % 60
            let day = 1 + index / 86_400
            func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
            log += "2026-03-\(two(day)) \(two(hour)):\(two(minute)):\(two(second)).000 UTC [\(1000 + index % 50)] LOG:  duration: 0.\(index % 9 + 1)00 ms  statement: \(statement)\n"
        }
        return log
    }
}
