using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Grouper.Format;
using Grouper.Schema;
using Parquet;
using Parquet.Schema;

namespace Grouper.Sources;

/// <summary>
/// Parquet files from any writer (Parquet.Net): one row group in memory at a time (text chunks of a large
/// row group only a window of rows at a time: see <see cref="PlainTextChunk.TryBegin"/>), values typed as
/// declared (timestamps with their unit, decimals with precision and scale, dates, times). Nested
/// columns (lists, maps, structs) are text: each value's JSON (<see cref="NestedJsonColumn"/>).
/// A file whose columns are all flat text or plain numbers (<see cref="ParquetLeaf.Kind"/>: what DuckDB writes
/// from a CSV, for one) is read without Parquet.Net: its footer by <see cref="ParquetFooter.ReadLayout"/>, its
/// chunks by <see cref="PlainTextChunk"/>; Parquet.Net is opened only if a chunk turns out to need it. In a file
/// with nested columns, the flat ones are read so too, and the nested ones by the schema Parquet.Net gives them
/// (their leaves by Grouper where it reads their type: <see cref="NestedJsonColumn"/>).
/// </summary>
public sealed class ParquetRecordReader : RecordReader
{
    private readonly string _path;
    private readonly FileStream _file;
    private readonly long _fileLength; // for progress, read once: a read-ahead may be using the stream
    // Parquet.Net's reader: opened at once for a file with other columns than flat text, else when first needed
    // (ParquetNet). Its metadata or Grouper's own (ParquetLayout) give the row groups.
    private ParquetReader? _reader;
    private readonly object _readerLock = new();
    private readonly IReadOnlyList<Parquet.Meta.RowGroup> _rowGroups;
    private readonly long _numRows;
    private readonly Field[]? _fields; // null when read without Parquet.Net
    private readonly List<ParquetLeaf>? _leaves; // the columns, when read without Parquet.Net (but for nested ones)
    private readonly Field[]? _nested; // Parquet.Net's top-level fields, when _leaves has nested columns
    private readonly bool _parquetNetOnly;
    private readonly ColumnSpec[] _specs;
    private SourceColumn[] _columns;
    // The next row group, decoded on another thread into a twin set of columns while this one's records are
    // read (a build's reading thread otherwise decodes and encodes alone, beside the thread that spills).
    private SourceColumn[]? _twin;
    private Task? _ahead;
    private int _aheadGroup = -1;
    // The columns' MemoryHeld after their last load, and the read-ahead's (set on its thread, read after it is awaited).
    private long _held, _twinHeld, _aheadHeld;
    private int _rowGroup = -1;
    private int _rowInGroup;
    private int _rowsInGroup;
    private long _row;

    public ParquetRecordReader(string path) : this(path, parquetNetOnly: false) { }

    /// <param name="path">The file.</param>
    /// <param name="parquetNetOnly">Every column read through Parquet.Net (tests compare Grouper's reading with it).</param>
    internal ParquetRecordReader(string path, bool parquetNetOnly)
    {
        _path = path;
        _parquetNetOnly = parquetNetOnly;
        _file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        _fileLength = _file.Length;
        try
        {
            var layout = ParquetFooter.ReadLayout(_file);
            // Nested columns beside flat ones Grouper reads: the flat ones as in a flat file, where Parquet.Net's
            // generic reading of every column cost a nested file twice the time of the same file without them;
            // the nested ones by Parquet.Net's schema of them (its levels), their leaves by Grouper where it can.
            bool mixed = layout.ReadableBesideNested && !parquetNetOnly;
            if (mixed)
            {
                _reader = OpenParquetNet();
                _nested = _reader.Schema.Fields.ToArray();
                mixed = SameColumns(_nested, layout.Mixed);
            }
            if (layout.ReadableByGrouper && !parquetNetOnly || mixed)
            {
                _rowGroups = layout.RowGroups;
                _numRows = layout.NumRows;
                _leaves = mixed ? layout.Mixed : layout.Columns;
                _specs = new ColumnSpec[_leaves.Count];
                for (int i = 0; i < _specs.Length; i++) _specs[i] = _leaves[i].Nested ? new ColumnSpec(_leaves[i].Name, ValueKind.String, true) : _leaves[i].ToSpec();
                _columns = CreateColumns();
                return;
            }
            _nested = null;
            _reader ??= OpenParquetNet();
            _rowGroups = _reader.Metadata!.RowGroups;
            _numRows = _reader.Metadata.NumRows;
        }
        catch (Exception ex) when (ex is not GrouperException)
        {
            _file.Dispose();
            throw new GrouperException(GrouperErrorKind.InvalidData, $"{path} is not a readable Parquet file: {ex.Message}", path, 0, ex);
        }
        try
        {
            _fields = _reader.Schema.Fields.ToArray();
            _specs = _fields.Select(f => NestedJsonColumn.IsNested(f) ? new ColumnSpec(f.Name, ValueKind.String, true) : ToSpec((DataField)f, path)).ToArray();
            _columns = CreateColumns();
        }
        catch (Exception ex)
        {
            _reader?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            _file.Dispose();
            if (ex is GrouperException) throw;
            // The footer parsed but its schema does not make sense: a damaged or foreign file.
            throw new GrouperException(GrouperErrorKind.InvalidData, $"{path} has a schema that cannot be read: {ex.Message}", path, 0, ex);
        }
    }

    // Parquet.Net's top-level fields are the layout's columns: nested where it has them nested, by name.
    private static bool SameColumns(Field[] fields, List<ParquetLeaf> columns)
    {
        if (fields.Length != columns.Count) return false;
        for (int i = 0; i < fields.Length; i++)
            if (fields[i].Name != columns[i].Name || NestedJsonColumn.IsNested(fields[i]) != columns[i].Nested) return false;
        return true;
    }

    // The footer was checked before (ParquetFooter.ReadLayout).
    private ParquetReader OpenParquetNet() =>
        ParquetReader.CreateAsync(_file, new ParquetOptions { UseDateOnlyTypeForDates = true }, leaveStreamOpen: true).GetAwaiter().GetResult();

    /// <summary>Parquet.Net's reader, opened now if the file was being read without it.</summary>
    private ParquetReader ParquetNet
    {
        get
        {
            lock (_readerLock) return _reader ??= OpenParquetNet();
        }
    }

    /// <summary>Whether Parquet.Net was needed to read this file so far (tests).</summary>
    internal bool OpenedParquetNet => _reader is not null;

    /// <summary>Whether column <paramref name="ordinal"/>'s chunk of the current row group was read by Grouper, not through Parquet.Net (tests).</summary>
    internal bool ReadByGrouper(int ordinal) => _columns[ordinal].ReadByGrouper;

    /// <summary>Whether text column <paramref name="ordinal"/>'s chunk of the current row group is streamed, a window at a time (tests).</summary>
    internal bool TextStreamed(int ordinal) => _columns[ordinal].Text?.Streaming == true;

    /// <summary>Whether leaf <paramref name="leaf"/> of nested column <paramref name="ordinal"/> was read by Grouper in the current row group (tests).</summary>
    internal bool LeafReadByGrouper(int ordinal, int leaf) => ((NestedJsonColumn)_columns[ordinal]).LeafReadByGrouper(leaf);

    /// <summary>Whether leaf <paramref name="leaf"/> of nested column <paramref name="ordinal"/> is streamed in the current row group (tests).</summary>
    internal bool LeafStreamed(int ordinal, int leaf) => ((NestedJsonColumn)_columns[ordinal]).LeafStreamed(leaf);

    /// <summary>The memory the current row group's columns hold (tests).</summary>
    internal long ColumnsMemoryHeld => _columns.Sum(c => c.MemoryHeld);

    private SourceColumn[] CreateColumns()
    {
        var columns = new SourceColumn[_specs.Length];
        for (int i = 0; i < columns.Length; i++)
        {
            int ordinal = i;
            columns[i] = _fields is null ? _leaves![i].Nested ? new NestedJsonColumn(_nested![i], _path) : SourceColumn.Own(_specs[i], _leaves[i], () => (DataField)ParquetNet.Schema.Fields[ordinal])
                : NestedJsonColumn.IsNested(_fields[i]) ? new NestedJsonColumn(_fields[i], _path, _parquetNetOnly)
                : SourceColumn.Create((DataField)_fields[i], _specs[i]);
        }
        return columns;
    }

    internal static ColumnSpec ToSpec(DataField f, string path)
    {
        var t = Nullable.GetUnderlyingType(f.ClrType) ?? f.ClrType;
        ColumnSpec Spec(ValueKind k) => new(f.Name, k, f.IsNullable);
        if (f is TimeDataField tf)
            return Spec(ValueKind.Time) with { Unit = tf.Precision switch { TimeUnitPrecision.Millis => TimeUnit.Millis, TimeUnitPrecision.Nanos => TimeUnit.Nanos, _ => TimeUnit.Micros } };
        if (f is DateTimeDataField df)
        {
            if (t == typeof(DateOnly)) return Spec(ValueKind.Date);
            var unit = df.DateTimeFormat switch
            {
                DateTimeFormat.DateAndTime => TimeUnit.Millis,
                DateTimeFormat.Timestamp => df.Unit switch { DateTimeTimeUnit.Millis => TimeUnit.Millis, DateTimeTimeUnit.Nanos => TimeUnit.Nanos, _ => TimeUnit.Micros },
                _ => TimeUnit.Micros,
            };
            return Spec(ValueKind.Timestamp) with { Unit = unit, AdjustedToUtc = df.DateTimeFormat != DateTimeFormat.Timestamp || df.IsAdjustedToUTC };
        }
        if (f is DecimalDataField dec)
        {
            // Every value of such a column failed with .NET's words ("Value was either too large or too small for a
            // Decimal"), naming no column; DECIMAL(38,38) is common in Spark's and Arrow's files.
            if (dec.Scale > 28)
                throw new GrouperException(GrouperErrorKind.SchemaMismatch,
                    $"Column '{f.Name}' of {path} is decimal({dec.Precision},{dec.Scale}): .NET's decimal holds at most 28 digits after the point. Cast it to a double or to text where the file is written.", path);
            return Spec(ValueKind.Decimal) with { Precision = dec.Precision, Scale = dec.Scale };
        }
        if (t == typeof(bool)) return Spec(ValueKind.Boolean);
        if (t == typeof(sbyte)) return Spec(ValueKind.Int8);
        if (t == typeof(byte)) return Spec(ValueKind.UInt8);
        if (t == typeof(short)) return Spec(ValueKind.Int16);
        if (t == typeof(ushort)) return Spec(ValueKind.UInt16);
        if (t == typeof(int)) return Spec(ValueKind.Int32);
        if (t == typeof(uint)) return Spec(ValueKind.UInt32);
        if (t == typeof(long)) return Spec(ValueKind.Int64);
        if (t == typeof(ulong)) return Spec(ValueKind.UInt64);
        if (t == typeof(float)) return Spec(ValueKind.Float);
        if (t == typeof(double)) return Spec(ValueKind.Double);
        if (t == typeof(decimal)) return Spec(ValueKind.Decimal) with { Precision = 29, Scale = 9 };
        if (t == typeof(string) || t == typeof(ReadOnlyMemory<char>)) return Spec(ValueKind.String);
        if (t == typeof(byte[]) || t == typeof(ReadOnlyMemory<byte>)) return Spec(ValueKind.Binary);
        if (t == typeof(DateTime)) return Spec(ValueKind.Timestamp);
        if (t == typeof(DateOnly)) return Spec(ValueKind.Date);
        if (t == typeof(TimeSpan) || t == typeof(TimeOnly)) return Spec(ValueKind.Time);
        if (t == typeof(Guid)) return Spec(ValueKind.String);
        throw new GrouperException(GrouperErrorKind.SchemaMismatch, $"Column '{f.Name}' of {path} has a type Grouper does not support ({t.Name}).", path);
    }

    public override string SourceName => _path;

    /// <summary>The file's share of the rows read: its pages are read a column chunk at a time, not in file order.</summary>
    public override long BytesConsumed =>
        _numRows > 0 ? (long)(_fileLength * Math.Min(1.0, (double)_row / _numRows)) : -1;

    /// <summary>Column <paramref name="ordinal"/> of the current row group, for the builder's own way with Parquet records (<see cref="Writer.RowCodec.ParquetText"/>).</summary>
    internal SourceColumn Column(int ordinal) => _columns[ordinal];

    /// <summary>The current record's row in the current row group.</summary>
    internal int RowInGroup => _rowInGroup;
    internal int RowGroupCount => _rowGroups.Count;

    /// <summary>The first nested column (read as JSON text), or null: a file used as it is (an import) cannot have one.</summary>
    internal string? FirstNestedColumn => _fields?.FirstOrDefault(NestedJsonColumn.IsNested)?.Name ?? _leaves?.FirstOrDefault(l => l.Nested)?.Name;
    public override long RowNumber => _row;
    public override int FieldCount => _specs.Length;
    public override string GetName(int ordinal) => _specs[ordinal].Name;
    public override ColumnSpec? GetDeclaredColumn(int ordinal) => _specs[ordinal];

    // Text columns of a large row group are read a window of rows at a time (see PlainTextChunk.TryBegin).
    internal const int WindowRows = 4096;
    private int _windowEnd;

    public override bool Read()
    {
        while (_rowInGroup + 1 >= _rowsInGroup)
        {
            if (_rowGroup + 1 >= _rowGroups.Count) return false;
            _rowGroup++;
            try
            {
                if (_ahead is { } ahead && _aheadGroup == _rowGroup)
                {
                    _ahead = null;
                    ahead.GetAwaiter().GetResult(); // its failure is this row group's
                    (_columns, _twin) = (_twin!, _columns);
                    (_held, _twinHeld) = (_aheadHeld, _held);
                }
                else _held = Load(_columns, _rowGroup);
            }
            // A damaged page says what is wrong but not where: the row group and its first row say that.
            catch (Exception ex) when (ex is not GrouperException { Row: > 0 })
            {
                throw CannotRead(ex);
            }
            _rowsInGroup = RowsOf(_rowGroup);
            _rowInGroup = -1;
            _windowEnd = 0;
            LoadAhead(_rowGroup + 1);
        }
        _rowInGroup++;
        if (_rowInGroup >= _windowEnd)
        {
            int from = _windowEnd, count = Math.Min(WindowRows, _rowsInGroup - from);
            try
            {
                foreach (var c in _columns) c.Advance(from, count);
            }
            catch (Exception ex) when (ex is not GrouperException { Row: > 0 })
            {
                throw CannotRead(ex);
            }
            _windowEnd = from + count;
        }
        _row++;
        return true;
    }

    /// <summary>
    /// Starts decoding the first row group on another thread, before the first <see cref="Read"/>: a build's
    /// reading thread meanwhile compiles its loop. False when nothing was started (rows were read already,
    /// or the row group is too large to read ahead).
    /// </summary>
    internal bool BeginReading()
    {
        if (_rowGroup != -1 || _ahead is not null) return false;
        LoadAhead(0);
        return _ahead is not null;
    }

    /// <summary>Row groups larger than this (uncompressed) are not read ahead: two of them would be in memory at once.</summary>
    internal const long AheadMaxBytes = 32L << 20;

    /// <summary>
    /// The largest row group (uncompressed) read ahead; a build lowers it to an eighth of its memory budget.
    /// Measured on DuckDB's files of 122,880-row groups: a 1 GB Parquet build's reading phase 3.00 against
    /// 3.19 s, with 27 MB more at its peak (docs/benchmarks.md).
    /// </summary>
    internal long ReadAheadLimit { get; set; } = AheadMaxBytes;

    /// <summary>
    /// The row group being read and, when row groups are read ahead, the other set of columns (the one being loaded
    /// or to be loaded with the next row group; its buffers, grown to its last row group's size, are reused), as
    /// measured after their loads. Streamed chunks grow theirs by a window at most.
    /// </summary>
    internal override long MemoryHeld => _held + _twinHeld;

    /// <summary>Whether nested column <paramref name="ordinal"/>'s JSON was written whole as its row group was loaded (tests).</summary>
    internal bool NestedWrittenWhole(int ordinal) => _columns[ordinal] is NestedJsonColumn { WroteWholeGroup: true };

    /// <summary>Row groups that were read ahead (tests).</summary>
    internal int RowGroupsReadAhead { get; private set; }

    private int RowsOf(int rowGroup) => checked((int)_rowGroups[rowGroup].NumRows);

    // Runs on the reading thread or, for the next row group, on another while the reading thread does not use
    // Parquet.Net (it waits for this load before its next): the columns' streamed pages are read by position.
    private long Load(SourceColumn[] columns, int rowGroup)
    {
        ParquetRowGroupReader? rg = null;
        try
        {
            // A row group small enough to be read ahead is read whole, its large text chunks too: streamed, their
            // pages were decompressed and parsed a window at a time on the reading thread while the thread that had
            // read the row group ahead idled (Arrow's files of PLAIN text: 17 MB chunks). Both row groups in memory
            // were counted whole already (ReadAheadLimit).
            var meta = _rowGroups[rowGroup];
            var file = new RowGroupFile(_file.SafeFileHandle, _path, meta,
                meta.TotalByteSize <= ReadAheadLimit ? Math.Max(PlainTextChunk.StreamAbove, ReadAheadLimit) : PlainTextChunk.StreamAbove);
            int rows = RowsOf(rowGroup), nestedColumns = columns.Count(c => c is NestedJsonColumn);
            foreach (var c in columns)
            {
                // The nested columns' JSON is written with their row group's leaves when it comes to a quarter of what
                // is read ahead at most (2 MB at a 64 MB budget, 8 MB from 256 MB), shared among them: both row groups
                // in memory hold theirs.
                if (c is NestedJsonColumn nested) nested.WholeGroupJsonBytes = ReadAheadLimit / 4 / nestedColumns;
                c.Load(() => rg ??= ParquetNet.OpenRowGroupReader(rowGroup), file, rows);
            }
            long held = 0;
            foreach (var c in columns) held += c.MemoryHeld;
            return held;
        }
        finally
        {
            rg?.Dispose();
        }
    }

    private void LoadAhead(int rowGroup)
    {
        if (rowGroup >= _rowGroups.Count || _rowGroups[rowGroup].TotalByteSize > ReadAheadLimit) return;
        var columns = _twin ??= CreateColumns();
        RowGroupsReadAhead++;
        _aheadGroup = rowGroup;
        _ahead = Util.Workers.Run(() => { _aheadHeld = Load(columns, rowGroup); });
    }

    private GrouperException CannotRead(Exception ex) => new(ex is GrouperException g ? g.Kind : GrouperErrorKind.InvalidData,
        $"Cannot read row group {_rowGroup} of {_path} (rows from {_row + 1}): {ex.Message}", _path, _row + 1, ex);

    public override ValueKind GetKind(int o) => _columns[o].IsNull(_rowInGroup) ? ValueKind.Null : _specs[o].Kind;
    public override string GetString(int o) => _columns[o].GetString(_rowInGroup);
    public override ReadOnlySpan<char> GetChars(int o) => _columns[o].GetChars(_rowInGroup);
    public override bool TryGetUtf8(int o, out ReadOnlySpan<byte> utf8) => _columns[o].TryGetUtf8(_rowInGroup, out utf8);
    public override long GetInt64(int o) => _columns[o].GetInt64(_rowInGroup);
    public override ulong GetUInt64(int o) => _columns[o].GetUInt64(_rowInGroup);
    public override double GetDouble(int o) => _columns[o].GetDouble(_rowInGroup);
    public override bool GetBoolean(int o) => _columns[o].GetInt64(_rowInGroup) != 0;
    public override decimal GetDecimal(int o)
    {
        try { return _columns[o].GetDecimal(_rowInGroup); }
        catch (OverflowException ex)
        {
            throw new GrouperException(GrouperErrorKind.InvalidData,
                $"Row {_row} of {_path}: column '{_specs[o].Name}' holds a decimal of more digits than .NET's decimal holds (28-29).", _path, _row, ex);
        }
    }
    public override DateTime GetDateTime(int o)
    {
        try { return _columns[o].GetDateTime(_rowInGroup); }
        catch (ArgumentOutOfRangeException ex) { throw OutOfRange(o, "timestamp", ex); }
    }

    public override DateOnly GetDate(int o)
    {
        try { return _columns[o].GetDate(_rowInGroup); }
        catch (ArgumentOutOfRangeException ex) { throw OutOfRange(o, "date", ex); }
    }

    // A value read as it lies (ParquetLayout's columns) is converted when asked for: one beyond .NET's years 1-9999.
    private GrouperException OutOfRange(int o, string what, Exception ex) => new(GrouperErrorKind.InvalidData,
        $"Row {_row} of {_path}: column '{_specs[o].Name}' holds a {what} outside the years .NET can hold (1-9999).", _path, _row, ex);
    public override TimeSpan GetTime(int o) => _columns[o].GetTime(_rowInGroup);
    public override ReadOnlySpan<byte> GetBytes(int o) => _columns[o].GetBytes(_rowInGroup);

    protected override void Dispose(bool disposing)
    {
        if (!disposing) return;
        // A read-ahead nobody will ask for still uses the file: let it end first.
        try { _ahead?.GetAwaiter().GetResult(); }
        catch (Exception) { /* never asked for: its failure is nobody's */ }
        _ahead = null;
        _reader?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _file.Dispose();
        // The row groups' buffers go with the file, whoever still holds the reader.
        _columns = [];
        _twin = null;
        _held = _twinHeld = 0;
    }
}

/// <summary>One column of the current row group of a Parquet source, with typed access.</summary>
internal abstract class SourceColumn
{
    /// <summary>The column's text, for a text column: read without a virtual call a value.</summary>
    public TextColumn? Text { get; protected init; }

    /// <summary>The column, for fixed-width values read as they lie: the builder's encoder takes them without virtual calls.</summary>
    public OwnNumbers? Numbers => this as OwnNumbers;

    /// <summary>Whether the current chunk was read by Grouper rather than through Parquet.Net (tests).</summary>
    internal virtual bool ReadByGrouper => Text?.ReadByGrouper == true;

    /// <summary>Bytes the column's buffers hold after its last <see cref="Load"/> (its reader counts them against its build's memory).</summary>
    public abstract long MemoryHeld { get; }

    /// <summary>Reads the column's chunk of a row group; <paramref name="rg"/> opens Parquet.Net's reader of it, for a chunk read through Parquet.Net.</summary>
    public abstract void Load(Func<ParquetRowGroupReader> rg, RowGroupFile file, int count);
    /// <summary>Rows [from, from + count) are read next (a column that streams its row group reads them now).</summary>
    public virtual void Advance(int from, int count) { }
    public abstract bool IsNull(int row);
    public virtual long GetInt64(int row) => throw new InvalidCastException();
    public virtual ulong GetUInt64(int row) => throw new InvalidCastException();
    public virtual double GetDouble(int row) => throw new InvalidCastException();
    public virtual decimal GetDecimal(int row) => throw new InvalidCastException();
    public virtual DateTime GetDateTime(int row) => throw new InvalidCastException();
    public virtual DateOnly GetDate(int row) => throw new InvalidCastException();
    public virtual TimeSpan GetTime(int row) => throw new InvalidCastException();
    public virtual string GetString(int row) => throw new InvalidCastException();
    public virtual ReadOnlySpan<char> GetChars(int row) => GetString(row);
    public virtual ReadOnlySpan<byte> GetBytes(int row) => throw new InvalidCastException();
    public virtual bool TryGetUtf8(int row, out ReadOnlySpan<byte> utf8) { utf8 = default; return false; }

    /// <summary>
    /// A column of a file read without Parquet.Net (flat text or plain numbers, <see cref="ParquetLeaf.Kind"/>):
    /// <paramref name="field"/> opens Parquet.Net if a chunk needs it.
    /// </summary>
    public static SourceColumn Own(ColumnSpec spec, ParquetLeaf leaf, Func<DataField> field) =>
        spec.Kind == ValueKind.String ? new Strings(spec, field) : new OwnNumbers(spec, leaf.Physical, leaf.FixedLength, field);

    /// <summary>
    /// INT32, INT64, FLOAT or DOUBLE values without an annotation that changes their meaning, INT64
    /// timestamps, INT32 dates, booleans and decimals, read by <see cref="PlainTextChunk"/> as fixed-width slices
    /// (booleans as bits); a chunk it does not read (another encoding or codec) through Parquet.Net, as
    /// <see cref="Create"/>'s column for the kind would.
    /// </summary>
    internal sealed class OwnNumbers(ColumnSpec spec, Parquet.Meta.Type physical, int fixedLength, Func<DataField> field) : SourceColumn
    {
        private readonly PlainTextChunk _chunk = new(GrouperErrorKind.InvalidData);
        private SourceColumn? _parquetNet;
        private bool _own;

        public ColumnSpec Spec => spec;

        internal override bool ReadByGrouper => _own;

        public override long MemoryHeld => _chunk.BufferBytes + (_parquetNet?.MemoryHeld ?? 0);

        /// <summary>
        /// The row's value as it lies in the page (4 or 8 bytes of a number, date or timestamp; not for booleans,
        /// whose values are bits); false when it is null or Parquet.Net read the chunk.
        /// </summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public bool TryGetRaw(int row, out ReadOnlySpan<byte> value)
        {
            value = default;
            return _own && _chunk.TryGetValue(row, out value);
        }

        public override void Load(Func<ParquetRowGroupReader> rg, RowGroupFile file, int count)
        {
            _own = _chunk.TryBegin(file, spec.Name, spec.Nullable, count, physical, fixedLength);
            if (!_own) (_parquetNet ??= Create(field(), spec)).Load(rg, file, count);
        }

        public override void Advance(int from, int count)
        {
            if (_own) _chunk.Advance(from, count);
        }

        public override bool IsNull(int row) => _own ? _chunk.IsNull(row) : _parquetNet!.IsNull(row);

        public override long GetInt64(int row)
        {
            if (!_own) return _parquetNet!.GetInt64(row);
            if (spec.Kind == ValueKind.Boolean) return _chunk.GetBoolean(row) ? 1 : 0; // as the reader's GetBoolean asks
            var v = _chunk.GetUtf8(row);
            return physical == Parquet.Meta.Type.INT32 ? BinaryPrimitives.ReadInt32LittleEndian(v) : BinaryPrimitives.ReadInt64LittleEndian(v);
        }

        // Unsigned integers lie in INT32 or INT64 bits as they are.
        public override ulong GetUInt64(int row)
        {
            if (!_own) return _parquetNet!.GetUInt64(row);
            var v = _chunk.GetUtf8(row);
            return physical == Parquet.Meta.Type.INT32 ? BinaryPrimitives.ReadUInt32LittleEndian(v) : BinaryPrimitives.ReadUInt64LittleEndian(v);
        }

        public override double GetDouble(int row)
        {
            if (!_own) return _parquetNet!.GetDouble(row);
            var v = _chunk.GetUtf8(row);
            return physical == Parquet.Meta.Type.FLOAT ? BinaryPrimitives.ReadSingleLittleEndian(v) : BinaryPrimitives.ReadDoubleLittleEndian(v);
        }

        public override TimeSpan GetTime(int row)
        {
            if (!_own) return _parquetNet!.GetTime(row);
            var v = _chunk.GetUtf8(row);
            return PlainValues.Time(physical == Parquet.Meta.Type.INT32 ? BinaryPrimitives.ReadInt32LittleEndian(v) : BinaryPrimitives.ReadInt64LittleEndian(v), spec.Unit);
        }

        public override decimal GetDecimal(int row)
        {
            if (!_own) return _parquetNet!.GetDecimal(row);
            return PlainValues.TryReadDecimal(_chunk.GetUtf8(row), physical, spec.Scale, out var d) ? d : throw new OverflowException();
        }

        public override DateOnly GetDate(int row) => _own
            ? PlainValues.Date(BinaryPrimitives.ReadInt32LittleEndian(_chunk.GetUtf8(row)))
            : _parquetNet!.GetDate(row);

        public override DateTime GetDateTime(int row) => _own
            ? PlainValues.Timestamp(BinaryPrimitives.ReadInt64LittleEndian(_chunk.GetUtf8(row)), spec.Unit, spec.AdjustedToUtc)
            : _parquetNet!.GetDateTime(row);
    }

    public static SourceColumn Create(DataField f, ColumnSpec spec)
    {
        var t = Nullable.GetUnderlyingType(f.ClrType) ?? f.ClrType;
        return spec.Kind switch
        {
            ValueKind.Boolean => new Of<bool>(f, static v => v ? 1 : 0),
            ValueKind.Int8 => new Of<sbyte>(f, static v => v),
            ValueKind.Int16 => new Of<short>(f, static v => v),
            ValueKind.Int32 => new Of<int>(f, static v => v),
            ValueKind.Int64 => new Of<long>(f, static v => v),
            ValueKind.UInt8 => new Of<byte>(f, u: static v => v),
            ValueKind.UInt16 => new Of<ushort>(f, u: static v => v),
            ValueKind.UInt32 => new Of<uint>(f, u: static v => v),
            ValueKind.UInt64 => new Of<ulong>(f, u: static v => v),
            ValueKind.Float => new Of<float>(f, d: static v => v),
            ValueKind.Double => new Of<double>(f, d: static v => v),
            ValueKind.Decimal => new Of<decimal>(f, m: static v => v),
            // Parquet.Net gives an INT96 no kind: the column is UTC, as Grouper's own reading and the dataset give it.
            ValueKind.Timestamp when spec.AdjustedToUtc => new Of<DateTime>(f, ts: static v => v.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(v, DateTimeKind.Utc) : v),
            // Not adjusted to UTC: a wall clock of no zone, where Parquet.Net gives this machine's (Local).
            ValueKind.Timestamp => new Of<DateTime>(f, ts: static v => DateTime.SpecifyKind(v, DateTimeKind.Unspecified)),
            ValueKind.Date => new Of<DateOnly>(f, date: static v => v),
            ValueKind.Time when t == typeof(int) => new Of<int>(f, time: static v => PlainValues.Time(v, TimeUnit.Millis)),
            ValueKind.Time when t == typeof(long) && spec.Unit == TimeUnit.Nanos => new Of<long>(f, time: static v => PlainValues.Time(v, TimeUnit.Nanos)),
            ValueKind.Time when t == typeof(long) => new Of<long>(f, time: static v => PlainValues.Time(v, TimeUnit.Micros)),
            ValueKind.Time when t == typeof(TimeOnly) => new Of<TimeOnly>(f, time: static v => v.ToTimeSpan()),
            ValueKind.Time => new Of<TimeSpan>(f, time: static v => v),
            ValueKind.String when t == typeof(Guid) => new GuidStrings(f),
            ValueKind.String => new Strings(f),
            ValueKind.Binary => new Binaries(f),
            _ => throw new ArgumentOutOfRangeException(nameof(spec)),
        };
    }

    private sealed class Of<T>(DataField field,
        Func<T, long>? l = null, Func<T, ulong>? u = null, Func<T, double>? d = null, Func<T, decimal>? m = null,
        Func<T, DateTime>? ts = null, Func<T, DateOnly>? date = null, Func<T, TimeSpan>? time = null) : SourceColumn where T : struct
    {
        private T?[] _values = [];
        private T[] _required = [];

        public override long MemoryHeld => (long)_values.Length * Unsafe.SizeOf<T?>() + (long)_required.Length * Unsafe.SizeOf<T>();

        public override void Load(Func<ParquetRowGroupReader> rg, RowGroupFile file, int count)
        {
            if (field.IsNullable)
            {
                if (_values.Length < count) _values = new T?[count];
                rg().ReadAsync<T>(field, _values.AsMemory(0, count), null, default).AsTask().GetAwaiter().GetResult();
            }
            else
            {
                if (_required.Length < count) _required = new T[count];
                rg().ReadAsync<T>(field, _required.AsMemory(0, count), null, default).AsTask().GetAwaiter().GetResult();
            }
        }

        private T V(int row) => field.IsNullable ? _values[row]!.Value : _required[row];
        public override bool IsNull(int row) => field.IsNullable && !_values[row].HasValue;
        public override long GetInt64(int row) => l!(V(row));
        public override ulong GetUInt64(int row) => u!(V(row));
        public override double GetDouble(int row) => d!(V(row));
        public override decimal GetDecimal(int row) => m!(V(row));
        public override DateTime GetDateTime(int row) => ts!(V(row));
        public override DateOnly GetDate(int row) => date!(V(row));
        public override TimeSpan GetTime(int row) => time!(V(row));
    }

    /// <summary>
    /// Text as the file's UTF-8 where it can be read so, which the builder stores as it is (<see cref="TextColumn"/>).
    /// Never a string per value: a row group of DuckDB's or Spark's size would be hundreds of thousands of
    /// short-lived strings.
    /// </summary>
    private sealed class Strings : SourceColumn
    {
        private readonly TextColumn _text;

        public Strings(DataField field) => Text = _text = new(field, GrouperErrorKind.InvalidData);

        public Strings(ColumnSpec spec, Func<DataField> field) => Text = _text = new(spec.Name, spec.Nullable, field, GrouperErrorKind.InvalidData);

        public override long MemoryHeld => _text.MemoryHeld;
        public override void Load(Func<ParquetRowGroupReader> rg, RowGroupFile file, int count) => _text.Begin(rg, file, count, default);
        public override void Advance(int from, int count) => _text.Advance(from, count);
        public override bool IsNull(int row) => _text.IsNull(row);
        public override bool TryGetUtf8(int row, out ReadOnlySpan<byte> utf8) => _text.TryGetUtf8(row, out utf8);

        /// <summary>Valid until the next call: rows are read in order, and only key columns ask for characters.</summary>
        public override ReadOnlySpan<char> GetChars(int row) => _text.GetChars(row);
        public override string GetString(int row) => _text.GetString(row) ?? "";
    }

    private sealed class GuidStrings(DataField field) : SourceColumn
    {
        private Guid?[] _values = [];

        public override long MemoryHeld => (long)_values.Length * Unsafe.SizeOf<Guid?>();

        public override void Load(Func<ParquetRowGroupReader> rg, RowGroupFile file, int count)
        {
            if (_values.Length != count) _values = new Guid?[count];
            rg().ReadAsync<Guid>(field, _values.AsMemory(), null, default).AsTask().GetAwaiter().GetResult();
        }

        public override bool IsNull(int row) => _values[row] is null;
        public override string GetString(int row) => _values[row]!.Value.ToString();
    }

    private sealed class Binaries(DataField field) : SourceColumn
    {
        private byte[]?[] _values = [];

        public override long MemoryHeld
        {
            get
            {
                long bytes = 8L * _values.Length;
                foreach (var v in _values) bytes += v is null ? 0 : 24 + v.Length;
                return bytes;
            }
        }

        public override void Load(Func<ParquetRowGroupReader> rg, RowGroupFile file, int count)
        {
            if (_values.Length != count) _values = new byte[]?[count];
            rg().ReadAsync(field, _values.AsMemory(), null, default).AsTask().GetAwaiter().GetResult();
        }

        public override bool IsNull(int row) => _values[row] is null;
        public override ReadOnlySpan<byte> GetBytes(int row) => _values[row];
    }
}
