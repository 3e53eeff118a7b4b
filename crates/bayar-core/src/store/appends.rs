//! Write-behind for rows a command only inserts (new payments and their X-EXTERNAL-ID
//! claims, transfers of new payments, ledger legs and entries, outbox events): a command hands
//! them to its [`Tx`](super::Tx), which writes them when the transaction next reads their
//! table or commits, instead of one statement each.
//!
//! On PostgreSQL a flush is one statement whatever the rows (each column bound as an array),
//! so a direct debit's claim, payment, transfer, legs, entries and event cost one round trip,
//! and a batch of a hundred payments still one; on SQLite, multi-row INSERTs.
//!
//! Most of these rows have keys that are fresh by construction (ULIDs, or the key of a row the
//! command has just inserted), so an insert that fails is a broken store, not a business
//! outcome: it fails the whole batch. The rows of a *checked* table ([`Table::checked`]) may
//! find their key taken by a repeated request; they are written behind only while the writer
//! expects no refusals, and a taken key then sends the batch to run again with each command in
//! a savepoint, where they are inserted at once and the command sees the key taken.

use std::borrow::Cow;
use std::sync::OnceLock;

use super::query::Arg;
use super::tx::{Shapes, chunk_sizes, values};

/// A table whose rows may be written behind, with the columns every row gives.
#[derive(Debug)]
pub(crate) struct Table {
    /// The table's name.
    pub name: &'static str,
    /// What any SQL that reads the table, or refers to its rows by foreign key, contains:
    /// such a statement waits for the rows (a false match only flushes early).
    pub named_by: &'static str,
    /// Whether a row's key may already be taken (see the module's doc).
    pub checked: bool,
    /// The columns every row gives, with their PostgreSQL types.
    pub columns: &'static [(&'static str, Column)],
    /// Its multi-row INSERTs, by number of rows.
    pub inserts: Shapes,
    /// Its one-row INSERT that does nothing when the row's key is taken (checked tables).
    pub unless_taken: OnceLock<String>,
}

/// The type of a column written behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Column {
    /// Text (ids, JSON), NULL allowed.
    Text,
    /// An integer (money, times), NULL allowed.
    Int,
}

/// X-EXTERNAL-ID claims (see `Tx::claim_external_id`): a repeated id finds its key taken.
pub(crate) static EXTERNAL_IDS: Table = Table {
    name: "external_ids",
    named_by: "external_ids",
    checked: true,
    columns: &[
        ("merchant_id", Column::Text),
        ("day", Column::Text),
        ("external_id", Column::Text),
        ("path", Column::Text),
        ("created_at", Column::Int),
    ],
    inserts: Shapes::new(),
    unless_taken: OnceLock::new(),
};

/// New payments: a repeated request finds its reference taken. Rows that refer to a payment
/// do so through a `payment_id` column, so statements naming `payment` wait for them.
pub(crate) static PAYMENTS: Table = Table {
    name: "payments",
    named_by: "payment",
    checked: true,
    columns: &[
        ("id", Column::Text),
        ("merchant_id", Column::Text),
        ("partner_reference_no", Column::Text),
        ("external_id", Column::Text),
        ("channel", Column::Text),
        ("face", Column::Text),
        ("amount", Column::Int),
        ("fee", Column::Int),
        ("refunded", Column::Int),
        ("refund_count", Column::Int),
        ("status", Column::Text),
        ("customer_id", Column::Text),
        ("title", Column::Text),
        ("return_url", Column::Text),
        ("notify_url", Column::Text),
        ("pin_failures", Column::Int),
        ("valid_until", Column::Int),
        ("failure", Column::Text),
        ("fingerprint", Column::Text),
        ("created_at", Column::Int),
        ("updated_at", Column::Int),
        ("paid_at", Column::Int),
    ],
    inserts: Shapes::new(),
    unless_taken: OnceLock::new(),
};

/// New transfers (their headers).
pub(crate) static TRANSFERS: Table = Table {
    name: "transfers",
    named_by: "transfers",
    checked: false,
    columns: &[
        ("id", Column::Text),
        ("kind", Column::Text),
        ("pending_id", Column::Text),
        ("fingerprint", Column::Text),
        ("memo", Column::Text),
        ("created_at", Column::Int),
    ],
    inserts: Shapes::new(),
    unless_taken: OnceLock::new(),
};

/// A transfer's legs.
pub(crate) static TRANSFER_LEGS: Table = Table {
    name: "transfer_legs",
    named_by: "transfer_legs",
    checked: false,
    columns: &[
        ("transfer_id", Column::Text),
        ("leg", Column::Int),
        ("debit_account", Column::Text),
        ("credit_account", Column::Text),
        ("amount", Column::Int),
    ],
    inserts: Shapes::new(),
    unless_taken: OnceLock::new(),
};

/// Posted entries of transfers.
pub(crate) static ENTRIES: Table = Table {
    name: "entries",
    named_by: "entries",
    checked: false,
    columns: &[
        ("transfer_id", Column::Text),
        ("account_id", Column::Text),
        ("amount", Column::Int),
    ],
    inserts: Shapes::new(),
    unless_taken: OnceLock::new(),
};

/// Outbox events, new and due at once.
pub(crate) static EVENTS: Table = Table {
    name: "events",
    named_by: "events",
    checked: false,
    columns: &[
        ("id", Column::Text),
        ("merchant_id", Column::Text),
        ("kind", Column::Text),
        ("subject_id", Column::Text),
        ("payload", Column::Text),
        ("created_at", Column::Int),
        ("attempts", Column::Int),
        ("next_attempt_at", Column::Int),
        ("locked_by", Column::Text),
        ("locked_until", Column::Int),
    ],
    inserts: Shapes::new(),
    unless_taken: OnceLock::new(),
};

/// The text of [`Flush::unnest`] for rows of `tables`, in that order.
fn unnest_sql(tables: &[&Table]) -> String {
    let mut parts = Vec::new();
    let mut param = 0;
    for (t, table) in tables.iter().enumerate() {
        let params: Vec<String> = table
            .columns
            .iter()
            .map(|(_, column)| {
                param += 1;
                let ty = match column {
                    Column::Text => "text",
                    Column::Int => "bigint",
                };
                format!("${param}::{ty}[]")
            })
            .collect();
        parts.push(format!(
            "w{t} AS (INSERT INTO {} {} SELECT * FROM unnest({}))",
            table.name,
            table.column_list(),
            params.join(", ")
        ));
    }
    format!("WITH {} SELECT 1", parts.join(", "))
}

impl Table {
    /// The one-row INSERT of a checked table that does nothing when the row's key is taken.
    pub(crate) fn insert_unless_taken(&self) -> &str {
        self.unless_taken.get_or_init(|| {
            format!(
                "INSERT INTO {} {} VALUES {} ON CONFLICT DO NOTHING",
                self.name,
                self.column_list(),
                values(1, self.columns.len())
            )
        })
    }

    fn column_list(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|(name, _)| *name).collect();
        format!("({})", names.join(", "))
    }
}

/// Every table written behind, in the order a flush writes them: a row refers only to rows
/// of tables before its own (legs and entries to their transfer). Checked tables come first,
/// so a taken key fails the flush before anything else is written.
static TABLES: [&Table; 6] = [
    &EXTERNAL_IDS,
    &PAYMENTS,
    &TRANSFERS,
    &TRANSFER_LEGS,
    &ENTRIES,
    &EVENTS,
];

/// The rows waiting, in the order they were appended.
///
/// The writer runs each command in a savepoint. A read inside a command writes every waiting
/// row, earlier commands' too, inside that savepoint; if the command is then rolled back,
/// those rows go with it. So a flush inside a command keeps a copy of the earlier commands'
/// rows, and a rollback puts them back to wait.
#[derive(Debug, Default)]
pub(crate) struct Appends {
    rows: Vec<Row>,
    /// How many of `rows` were appended before the running command (0 outside commands).
    before_command: usize,
    /// Earlier commands' rows written by a flush inside the running command.
    exposed: Vec<Row>,
}

type Row = (&'static Table, Vec<Arg>);

/// The rows a flush writes, table by table in the order of [`TABLES`], each table's rows in
/// the order they were appended.
pub(crate) struct Flush {
    tables: Vec<(&'static Table, Vec<Vec<Arg>>)>,
}

/// One statement of a flush.
pub(crate) struct Insert {
    /// The statement.
    pub sql: Cow<'static, str>,
    /// Its parameters, row after row.
    pub args: Vec<Arg>,
}

impl Flush {
    /// Multi-row INSERTs (for SQLite, where a statement costs no round trip).
    pub(crate) fn inserts(self) -> Vec<Insert> {
        let mut inserts = Vec::new();
        for (table, rows) in self.tables {
            let mut rows = rows.into_iter();
            for size in chunk_sizes(rows.len()) {
                inserts.push(Insert {
                    sql: table.inserts.get(size, |size| {
                        format!(
                            "INSERT INTO {} {} VALUES {}",
                            table.name,
                            table.column_list(),
                            values(size, table.columns.len())
                        )
                    }),
                    args: rows.by_ref().take(size).flatten().collect(),
                });
            }
        }
        inserts
    }

    /// One statement for every row of every table (for PostgreSQL: one round trip), each
    /// column bound as an array: `WITH t1 AS (INSERT INTO .. SELECT * FROM unnest($1::text[],
    /// ..)), .. SELECT 1`. Its shape depends only on which tables have rows, so it stays
    /// prepared. Foreign keys are checked at the end of the statement, when every table's rows
    /// are in.
    pub(crate) fn unnest(self) -> Result<(&'static str, Vec<ColumnValues>), String> {
        // Its text by which tables have rows: one bit per table of `TABLES`.
        static TEXTS: [OnceLock<String>; 1 << TABLES.len()] =
            [const { OnceLock::new() }; 1 << TABLES.len()];
        let present: Vec<&'static Table> = self.tables.iter().map(|(table, _)| *table).collect();
        let shape = present.iter().fold(0, |bits, table| {
            bits | TABLES
                .iter()
                .position(|t| t.name == table.name)
                .map_or(0, |i| 1 << i)
        });
        let mut arrays = Vec::new();
        for (table, rows) in self.tables {
            // Rows into columns, moving the values.
            let mut columns: Vec<Vec<Arg>> = table
                .columns
                .iter()
                .map(|_| Vec::with_capacity(rows.len()))
                .collect();
            for row in rows {
                for (column, value) in columns.iter_mut().zip(row) {
                    column.push(value);
                }
            }
            for ((name, column), values) in table.columns.iter().zip(columns) {
                let values = ColumnValues::of(*column, values)
                    .ok_or_else(|| format!("a row of {} does not fit column {name}", table.name))?;
                arrays.push(values);
            }
        }
        let text = TEXTS[shape].get_or_init(|| unnest_sql(&present));
        Ok((text.as_str(), arrays))
    }

    /// Whether there is nothing to write.
    pub(crate) fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// Whether it writes rows of a checked table, whose keys may be taken.
    pub(crate) fn is_checked(&self) -> bool {
        self.tables.iter().any(|(table, _)| table.checked)
    }

    /// The rows of `table` it writes.
    pub(crate) fn rows_of<'a>(&'a self, table: &'a Table) -> impl Iterator<Item = &'a [Arg]> {
        self.tables
            .iter()
            .filter(move |(t, _)| t.name == table.name)
            .flat_map(|(_, rows)| rows.iter().map(Vec::as_slice))
    }
}

/// One column's values across the rows of a flush, bound as one array parameter.
pub(crate) enum ColumnValues {
    /// A `text[]`.
    Text(Vec<Option<String>>),
    /// A `bigint[]`.
    Int(Vec<Option<i64>>),
}

impl ColumnValues {
    fn of(column: Column, values: Vec<Arg>) -> Option<ColumnValues> {
        let values = values.into_iter();
        Some(match column {
            Column::Text => ColumnValues::Text(
                values
                    .map(|v| match v {
                        Arg::Text(v) => Some(v),
                        _ => None,
                    })
                    .collect::<Option<_>>()?,
            ),
            Column::Int => ColumnValues::Int(
                values
                    .map(|v| match v {
                        Arg::Int(v) => Some(v),
                        _ => None,
                    })
                    .collect::<Option<_>>()?,
            ),
        })
    }
}

impl Appends {
    /// Adds a row of `table`.
    pub(crate) fn push(&mut self, table: &'static Table, row: Vec<Arg>) {
        debug_assert_eq!(row.len(), table.columns.len(), "a row of {}", table.name);
        self.rows.push((table, row));
    }

    /// A command starts (its savepoint is open).
    pub(crate) fn begin_command(&mut self) {
        self.before_command = self.rows.len();
        self.exposed.clear();
    }

    /// The running command stands (its savepoint is released).
    pub(crate) fn end_command(&mut self) {
        self.before_command = 0;
        self.exposed.clear();
    }

    /// The running command is rolled back (to its savepoint): its rows are forgotten, and
    /// earlier commands' rows it wrote wait again.
    pub(crate) fn discard_command(&mut self) {
        self.rows.truncate(self.before_command);
        let waiting = std::mem::take(&mut self.rows);
        self.rows = std::mem::take(&mut self.exposed);
        self.rows.extend(waiting);
        self.before_command = 0;
    }

    /// Whether a statement `sql` must wait for the rows: it names a table some wait for
    /// ([`Table::named_by`]). Naming is enough: a false match only flushes early. The name is
    /// looked for first, so the usual statement, naming none of these tables, costs six
    /// searches of its text whatever the batch holds.
    pub(crate) fn read_by(&self, sql: &str) -> bool {
        TABLES.iter().any(|table| {
            sql.contains(table.named_by) && self.rows.iter().any(|(t, _)| t.name == table.name)
        })
    }

    /// Whether nothing waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The waiting rows of `table`, in the order they were appended.
    pub(crate) fn rows_of<'a>(&'a self, table: &'a Table) -> impl Iterator<Item = &'a [Arg]> {
        self.rows
            .iter()
            .filter(move |(t, _)| t.name == table.name)
            .map(|(_, row)| row.as_slice())
    }

    /// The waiting rows of `table`, to change before they are written.
    pub(crate) fn rows_of_mut<'a>(
        &'a mut self,
        table: &'a Table,
    ) -> impl Iterator<Item = &'a mut Vec<Arg>> {
        self.rows
            .iter_mut()
            .filter(move |(t, _)| t.name == table.name)
            .map(|(_, row)| row)
    }

    /// Takes every waiting row.
    pub(crate) fn take(&mut self) -> Flush {
        self.exposed
            .extend(self.rows[..self.before_command].iter().cloned());
        self.before_command = 0;
        let mut rows = std::mem::take(&mut self.rows);
        // Stable: each table's rows keep their order.
        rows.sort_by_key(|(table, _)| TABLES.iter().position(|t| t.name == table.name));
        let mut tables: Vec<(&'static Table, Vec<Vec<Arg>>)> = Vec::new();
        for (table, row) in rows {
            match tables.last_mut() {
                Some((t, rows)) if t.name == table.name => rows.push(row),
                _ => tables.push((table, vec![row])),
            }
        }
        Flush { tables }
    }
}

#[cfg(test)]
mod tests {
    use super::{Appends, ColumnValues, ENTRIES, EVENTS, TRANSFER_LEGS};
    use crate::store::query::Arg;

    fn row(n: usize) -> Vec<Arg> {
        (0..n)
            .map(|i| Arg::from(i64::try_from(i).unwrap()))
            .collect()
    }

    #[test]
    fn rows_go_out_table_by_table() {
        let mut appends = Appends::default();
        for _ in 0..70 {
            appends.push(&ENTRIES, row(3));
        }
        appends.push(&TRANSFER_LEGS, row(5));
        let inserts = appends.take().inserts();
        let shapes: Vec<(usize, &str)> = inserts
            .iter()
            .map(|i| (i.args.len(), &i.sql[..25]))
            .collect();
        // Legs before entries whatever came first; 70 entries = 64 + 4 + 2.
        assert_eq!(
            shapes,
            vec![
                (5, "INSERT INTO transfer_legs"),
                (64 * 3, "INSERT INTO entries (tran"),
                (4 * 3, "INSERT INTO entries (tran"),
                (2 * 3, "INSERT INTO entries (tran"),
            ]
        );
        assert!(
            inserts[3]
                .sql
                .ends_with("VALUES ($1, $2, $3), ($4, $5, $6)")
        );
        assert!(appends.is_empty());
    }

    #[test]
    fn postgres_gets_one_statement_with_a_column_per_array() {
        let entry =
            |account: &str, amount: i64| vec!["tr_1".into(), account.into(), Arg::from(amount)];
        let mut appends = Appends::default();
        appends.push(&ENTRIES, entry("acc_1", -5));
        appends.push(
            &TRANSFER_LEGS,
            row(5).into_iter().map(|_| Arg::Text(None)).collect(),
        );
        appends.push(&ENTRIES, entry("acc_2", 5));
        let Err(misfit) = appends.take().unnest() else {
            panic!("a leg of NULL text has no integer for `leg`");
        };
        assert!(
            misfit.contains("transfer_legs") && misfit.contains("leg"),
            "{misfit}"
        );

        appends.push(&ENTRIES, entry("acc_1", -5));
        appends.push(&ENTRIES, entry("acc_2", 5));
        let Ok((sql, columns)) = appends.take().unnest() else {
            panic!("entries fit their columns");
        };
        assert_eq!(
            sql,
            "WITH w0 AS (INSERT INTO entries (transfer_id, account_id, amount) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])) SELECT 1"
        );
        let amounts = match &columns[2] {
            ColumnValues::Int(v) => v.clone(),
            ColumnValues::Text(_) => panic!("amounts are integers"),
        };
        assert_eq!(amounts, vec![Some(-5), Some(5)]);
    }

    #[test]
    fn a_rolled_back_command_takes_back_only_its_own_rows() {
        let mut appends = Appends::default();
        appends.push(&EVENTS, row(10));
        appends.begin_command();
        appends.push(&EVENTS, row(10));
        appends.push(&ENTRIES, row(3));
        appends.discard_command();
        assert_eq!(appends.take().inserts().len(), 1, "the first event only");

        // A read inside a command writes the earlier command's row with its own; when the
        // command is rolled back, the earlier row waits again, its own is gone.
        appends.push(&EVENTS, row(10));
        appends.begin_command();
        appends.push(&ENTRIES, row(3));
        assert!(appends.read_by("SELECT amount FROM entries"));
        assert!(!appends.read_by("SELECT amount FROM transfers"));
        assert_eq!(appends.take().inserts().len(), 2);
        appends.push(&ENTRIES, row(3));
        appends.discard_command();
        let again = appends.take().inserts();
        assert_eq!(again.len(), 1);
        assert!(again[0].sql.starts_with("INSERT INTO events"));

        // A command that stands keeps nothing back.
        appends.push(&EVENTS, row(10));
        appends.begin_command();
        appends.push(&ENTRIES, row(3));
        assert_eq!(appends.take().inserts().len(), 2);
        appends.end_command();
        appends.discard_command();
        assert!(appends.is_empty());
    }
}
