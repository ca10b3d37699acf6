//! Command-line definitions. The doc comments are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// relkpi: ITIL 4 release-management KPIs from ITSM exports.
///
/// Imports releases, changes and incidents from ServiceNow (and mapping
/// profiles for anything else) into a DuckDB warehouse, then computes the
/// release KPIs over it.
#[derive(Parser, Debug)]
#[command(name = "relkpi", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// The warehouse file.
    #[arg(long, global = true, env = "RELKPI_DB", default_value = "relkpi.duckdb")]
    pub db: PathBuf,
    /// Configuration file (default: relkpi.toml next to the warehouse, if present).
    #[arg(long, global = true, env = "RELKPI_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print nothing but errors and requested output (no progress bars).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Say more about what is done (-vv: every step, with timings).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Import ITSM exports (CSV, JSON, XLSX, optionally .gz) into the warehouse.
    ///
    /// Example: relkpi import change_request.csv incident.json.gz
    Import(ImportArgs),
    /// Run SQL over the warehouse (read-only unless --write).
    ///
    /// Example: relkpi sql "select state, count(*) from changes group by all"
    Sql(SqlArgs),
    /// Compute the release KPIs for a period.
    ///
    /// Example: relkpi kpi --period 2024-03 --by service --format json
    Kpi(KpiArgs),
    /// Compare a period with another: deltas, verdicts, significance, and the records behind them.
    ///
    /// Example: relkpi compare --period 2024-03 --against previous
    Compare(CompareArgs),
    /// Each KPI month by month up to a period, with a rolling 3-month value.
    ///
    /// Example: relkpi trend --period 2024-03 --months 12 --kpi change_failure_rate
    Trend(TrendArgs),
    /// Write the monthly KPI report: one self-contained HTML page, kpis.json/csv and every chart as SVG and PNG.
    ///
    /// Example: relkpi report --period 2024-03 --against year-ago --months 6 --out reports/2024-03
    Report(ReportArgs),
    /// Draw one KPI's trend as an SVG or PNG file, for slides.
    ///
    /// Example: relkpi chart change_failure_rate --period 2024-03 --months 12 --out cfr.png
    Chart(ChartArgs),
    /// The forward schedule of change: releases and changes planned in the coming weeks, with conflicts flagged.
    ///
    /// Example: relkpi schedule --from 2024-03-01 --weeks 6 --format html --out schedule.html
    Schedule(ScheduleArgs),
    /// A post-implementation review card for a release, or one per release deployed in a period.
    ///
    /// Example: relkpi review --period 2024-03 --out reviews/2024-03
    Review(ReviewArgs),
    /// Write a synthetic ServiceNow export set of any size (for benchmarks and trials).
    ///
    /// Example: relkpi generate --changes 20000 --seed 7 --out generated
    Generate(GenerateArgs),
    /// Export the tables, attribution links and monthly KPI results as Parquet or CSV, partitioned by source and month.
    ///
    /// Example: relkpi export --format parquet --months 6 --out export
    Export(ExportArgs),
    /// Data-quality findings to know before trusting a number.
    ///
    /// Example: relkpi check --format json
    Check(CheckArgs),
    /// Build a fresh warehouse from the bundled sample data and show what it holds.
    ///
    /// Example: relkpi demo --dir relkpi-demo
    Demo(DemoArgs),
    /// Show the warehouse: schema version, row counts per table and source, last imports.
    ///
    /// Example: relkpi status
    Status(StatusArgs),
    /// Write or try a mapping profile for an export relkpi does not know well.
    ///
    /// Example: relkpi profile init custom_changes.csv --out custom.toml
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    ///
    /// Example: relkpi completions bash > relkpi.bash
    Completions(CompletionsArgs),
    /// Print the manual page (roff), or write one per command into a folder.
    ///
    /// Example: relkpi man --out man/
    Man(ManArgs),
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Files to import; each loads in its own transaction.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Source system or profile name (servicenow, canonical, or a profile's name).
    #[arg(long)]
    pub source: Option<String>,
    /// Record kind: releases, changes, incidents or satisfaction.
    #[arg(long)]
    pub kind: Option<String>,
    /// A mapping profile (TOML) for exports relkpi has no built-in mapping for.
    #[arg(long)]
    pub profile: Option<PathBuf>,
    /// The `source` value written for canonical CSV files.
    #[arg(long, default_value = "canonical")]
    pub source_name: String,
    /// Date order of ambiguous dates such as 03/04/2024, when the file cannot tell.
    #[arg(long, value_enum)]
    pub date_order: Option<DateOrderArg>,
    /// Output format of the import summary.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Read and map the files and print what an import would do (detection,
    /// columns used, ignored and missing, what that costs, values mapped and
    /// rejected) without touching the warehouse.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Subcommand, Debug)]
pub enum ProfileCommand {
    /// Write a starting profile for FILE: the mapping relkpi would use, every
    /// other header as a commented candidate, and every distinct value of the
    /// enumerated columns with the canonical value it would get.
    Init(ProfileInitArgs),
    /// Show what PROFILE makes of FILE (as `import --dry-run --profile`), loading nothing.
    Check(ProfileCheckArgs),
}

#[derive(Args, Debug)]
pub struct ProfileInitArgs {
    /// The export to describe.
    pub file: PathBuf,
    /// Where to write the profile (default: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Record kind, when the file cannot tell: releases, changes, incidents or satisfaction.
    #[arg(long)]
    pub kind: Option<String>,
    /// Replace an existing --out file.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct ProfileCheckArgs {
    /// The mapping profile (TOML).
    pub profile: PathBuf,
    /// Exports to map with it.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOrderArg {
    Dmy,
    Mdy,
    Ymd,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Csv,
    Json,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlFormat {
    Table,
    Csv,
    Json,
    Parquet,
}

#[derive(Args, Debug)]
pub struct SqlArgs {
    /// The query (or use -f FILE).
    #[arg(required_unless_present = "file")]
    pub query: Option<String>,
    /// Read the query from a file.
    #[arg(short, long, conflicts_with = "query")]
    pub file: Option<PathBuf>,
    /// Allow statements that change the warehouse.
    #[arg(long)]
    pub write: bool,
    #[arg(long, value_enum, default_value_t = SqlFormat::Table)]
    pub format: SqlFormat,
    /// Write the result to this file instead of standard output (required for parquet).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct PeriodArgs {
    /// Period: a month 2024-03, a quarter 2024-Q1 or a year 2024 (default: the latest complete month).
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub period: Option<String>,
    /// Start of a custom period (inclusive), e.g. 2024-03-01 or 2024-03-01T12:00.
    #[arg(long, requires = "to")]
    pub from: Option<String>,
    /// End of a custom period (exclusive).
    #[arg(long, requires = "from")]
    pub to: Option<String>,
}

impl PeriodArgs {
    pub fn request(&self) -> crate::kpi::PeriodRequest<'_> {
        crate::kpi::PeriodRequest {
            period: self.period.as_deref(),
            from: self.from.as_deref(),
            to: self.to.as_deref(),
        }
    }
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByArg {
    Service,
    Team,
    ChangeType,
    Risk,
    Source,
}

impl ByArg {
    pub fn as_str(self) -> &'static str {
        match self {
            ByArg::Service => "service",
            ByArg::Team => "team",
            ByArg::ChangeType => "change_type",
            ByArg::Risk => "risk",
            ByArg::Source => "source",
        }
    }
}

#[derive(Args, Debug)]
pub struct KpiArgs {
    #[command(flatten)]
    pub period: PeriodArgs,
    /// Only these KPIs (repeatable or comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub kpi: Vec<String>,
    /// Break each KPI down by this dimension.
    #[arg(long, value_enum)]
    pub by: Option<ByArg>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Instead of one period, each of the N months ending with it (same as `relkpi trend`).
    #[arg(long, conflicts_with = "by")]
    pub months: Option<u32>,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    #[command(flatten)]
    pub period: PeriodArgs,
    /// What to compare with: previous (the preceding period of the same length),
    /// year-ago, or a period such as 2023-Q4.
    #[arg(long, default_value = "previous", conflicts_with_all = ["against_from", "against_to"])]
    pub against: String,
    /// Start of a custom comparison period (with --against-to).
    #[arg(long, requires = "against_to")]
    pub against_from: Option<String>,
    /// End of a custom comparison period (exclusive).
    #[arg(long, requires = "against_from")]
    pub against_to: Option<String>,
    /// Only these KPIs (repeatable or comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub kpi: Vec<String>,
    /// Significance level (default from the configuration, else 0.05).
    #[arg(long)]
    pub level: Option<f64>,
    /// With fewer records than this in either period there is no verdict (default 10).
    #[arg(long)]
    pub min_records: Option<i64>,
    /// List the records behind each KPI in the table output (JSON always has them).
    #[arg(long)]
    pub records: bool,
    /// Explain each change by its drivers: the groups (service, team, change
    /// type, risk, source) whose own rate or share of the work moved it. The
    /// table shows the N largest under each KPI (default 3); JSON carries all.
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "3")]
    pub drivers: Option<usize>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct TrendArgs {
    #[command(flatten)]
    pub period: PeriodArgs,
    /// How many months, ending with the period's month.
    #[arg(long, default_value_t = 12)]
    pub months: u32,
    /// Only these KPIs (repeatable or comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub kpi: Vec<String>,
    /// Process-behaviour limits: each KPI's centre line and natural process
    /// limits (XmR, or a p-chart for ratios with small or varying
    /// denominators) from the baseline months (`[limits]` in relkpi.toml), and
    /// the months that signal a change.
    #[arg(long)]
    pub limits: bool,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Folder for the demo warehouse (default: the current folder).
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    pub period: PeriodArgs,
    /// What to compare with: previous, year-ago, or a period such as 2023-Q4.
    #[arg(long, default_value = "previous")]
    pub against: String,
    /// Months of trend in the charts, ending with the period's month.
    #[arg(long, default_value_t = 12)]
    pub months: u32,
    /// Output folder (default: reports/<period>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also print the page to report.pdf with headless Chromium.
    #[arg(long)]
    pub pdf: bool,
    /// Also write the page's view model (the data the template lays out) as JSON.
    #[arg(long, value_name = "FILE")]
    pub view_model: Option<PathBuf>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    /// Bars for counts, a line otherwise.
    Auto,
    Line,
    Bar,
}

#[derive(Args, Debug)]
pub struct ChartArgs {
    /// The KPI id, e.g. change_failure_rate (see `relkpi kpi`).
    pub kpi: String,
    #[command(flatten)]
    pub period: PeriodArgs,
    /// Months of trend, ending with the period's month.
    #[arg(long, default_value_t = 12)]
    pub months: u32,
    /// Draw this period's value as a dashed line: previous, year-ago, a period, or none.
    #[arg(long)]
    pub against: Option<String>,
    /// The file to write, .svg or .png (default: <KPI>.svg).
    #[arg(short, long)]
    pub out: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = ChartKind::Auto)]
    pub kind: ChartKind,
    /// Leave out the rolling 3-month line.
    #[arg(long)]
    pub no_rolling: bool,
    /// Width in pixels (PNG is drawn at twice this for sharpness).
    #[arg(long, default_value_t = 900)]
    pub width: u32,
    #[arg(long, default_value_t = 360)]
    pub height: u32,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write relkpi.1 and relkpi-COMMAND.1 into this folder instead of printing relkpi.1.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleFormat {
    Table,
    Csv,
    Json,
    /// A calendar page to send to stakeholders.
    Html,
}

#[derive(Args, Debug)]
pub struct ScheduleArgs {
    /// First day (default: today), e.g. 2024-03-01.
    #[arg(long)]
    pub from: Option<String>,
    /// How many weeks ahead.
    #[arg(long, default_value_t = 6)]
    pub weeks: u32,
    #[arg(long, value_enum, default_value_t = ScheduleFormat::Table)]
    pub format: ScheduleFormat,
    /// Write to this file instead of standard output.
    #[arg(short, long)]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ReviewArgs {
    /// The release to review (or use --period for every release deployed in a period).
    #[arg(required_unless_present_any = ["period", "from"])]
    pub release: Option<String>,
    #[command(flatten)]
    pub period: PeriodArgs,
    /// The release's source system, when the id exists in several.
    #[arg(long)]
    pub source: Option<String>,
    /// Output folder (default: reports/reviews/ for one release, reports/<period>/reviews/ for a period).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// How many changes; releases (one per 9 changes), incidents (about one per
    /// change) and satisfaction answers (3 per release) follow.
    #[arg(long, default_value_t = 100_000)]
    pub changes: u64,
    /// The same seed gives the same files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Months covered, from January 2024.
    #[arg(long, default_value_t = 24)]
    pub months: u32,
    /// Also write a later export, as a monthly refresh brings, to OUT/delta:
    /// the last N implemented changes are left out of OUT and written there,
    /// with their releases, incidents and answers, and with a tenth of the N
    /// changes before them closed again (another outcome, some another CI).
    #[arg(long, default_value_t = 0)]
    pub delta: u64,
    /// Output folder.
    #[arg(long, default_value = "generated")]
    pub out: PathBuf,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Parquet,
    Csv,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Output folder (one subfolder per table, Hive-partitioned by source and month).
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value_t = ExportFormat::Parquet)]
    pub format: ExportFormat,
    /// KPI results for this many months ending with --period.
    #[arg(long, default_value_t = 12)]
    pub months: u32,
    /// The last month of KPI results (default: the latest complete month).
    #[arg(long)]
    pub period: Option<String>,
    /// Write into a folder that is not empty.
    #[arg(long)]
    pub force: bool,
}
