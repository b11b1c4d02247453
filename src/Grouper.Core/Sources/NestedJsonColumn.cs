using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Grouper.Format;
using Grouper.Schema;
using Grouper.Util;
using Parquet;
using Parquet.Data;
using Parquet.Schema;

namespace Grouper.Sources;

/// <summary>
/// A nested Parquet column (a struct, a list, a map, a repeated field, and any nesting of them) read as the
/// JSON text of each row's value, as a JSON Lines file's nested values are kept: lists as arrays, structs as
/// objects with their fields in schema order, maps as objects keyed by the keys' text. Each leaf column's
/// values come with their repetition and definition levels (Parquet's record shredding), from which the
/// rows' values are assembled again: a null struct, a null list, an empty list and a list of nulls stay apart.
/// Each leaf's column chunk is read whole (values and levels): by Grouper for leaves of text, booleans, numbers,
/// dates and timestamps (<see cref="OwnLeaf"/>), by Parquet.Net for any other; the rows are assembled and
/// written as JSON, a row group's with its leaves where it is small (on the thread that reads it ahead), else
/// a window at a time, into one buffer the builder copies from.
/// </summary>
internal sealed class NestedJsonColumn : SourceColumn
{
    private enum Kind : byte { Leaf, Struct, List, Map }

    private sealed class Node
    {
        public Kind Kind;
        public string Name = "";
        // Leaf and struct: the definition level at which the node is present (not null). List and map: at which
        // the container is present (perhaps empty); ElementDef: at which it has an element.
        public int Def, ElementDef;
        // List and map: their repetition level; others: the enclosing list's.
        public int Rep;
        // Struct: its fields; list: its item; map: its key and value.
        public Node[] Children = [];
        public DataField? Field;
        // Leaf: its position among the column's leaves; struct: the first leaf under it (whose definition level
        // says whether the struct is there). The leaves under a node are [Leaf, LeafEnd).
        public int Leaf, LeafEnd;

        /// <summary>The name as a struct's property: <c>"name":</c>, escaped as the JSON writer escapes it.</summary>
        public byte[] PropertyJson => _propertyJson ??= JsonRows.PropertyBytes(Name);
        private byte[]? _propertyJson;
    }

    /// <summary>A leaf column and the nodes from the top to it, with the position of each next node among its parent's children.</summary>
    private sealed record LeafPath(DataField Field, Node[] Nodes, int[] ChildIndex)
    {
        // The JSON of the struct field names on the path (with their quotes and colon), written for each entry at most.
        public int NameBytes { get; } = Enumerable.Range(0, Nodes.Length - 1).Where(i => Nodes[i].Kind == Kind.Struct).Sum(i => Encoding.UTF8.GetByteCount(Nodes[i + 1].Name) + 4);
    }

    private readonly Node _top;
    private readonly List<LeafPath> _leaves = new();
    private readonly JsonRows _json = new();

    /// <param name="field">The top-level field.</param>
    /// <param name="path">The file.</param>
    /// <param name="parquetNetOnly">Every leaf read through Parquet.Net (tests compare Grouper's reading with it).</param>
    public NestedJsonColumn(Field field, string path, bool parquetNetOnly = false)
    {
        _parquetNetOnly = parquetNetOnly;
        _top = Build(field, 0, 0, path);
        Collect(_top, [], []);
        _listsOnly = _leaves.Count == 1 && _leaves[0].Nodes[..^1].All(n => n.Kind == Kind.List);
    }


    private readonly bool _listsOnly, _parquetNetOnly;

    /// <summary>Whether this top-level field is read by this class rather than as a flat column.</summary>
    public static bool IsNested(Field f) => f is not DataField d || d.IsArray;

    // Levels as the Parquet format defines them for the layouts Parquet.Net reads (a list or map: an optional
    // container group around a repeated group): checked against Parquet.Net's own for every leaf, as the pages'
    // levels are decoded with them.
    private static Node Build(Field f, int parentRep, int parentDef, string path)
    {
        switch (f)
        {
            case DataField { IsArray: true } d:
                var item = new Node { Kind = Kind.Leaf, Name = d.Name, Def = parentDef + 1, Rep = parentRep + 1, Field = d };
                Check(item, d, path);
                return new Node { Kind = Kind.List, Name = d.Name, Def = parentDef, ElementDef = parentDef + 1, Rep = parentRep + 1, Children = [item] };
            case DataField d:
                var leaf = new Node { Kind = Kind.Leaf, Name = d.Name, Def = parentDef + (d.IsNullable ? 1 : 0), Rep = parentRep, Field = d };
                Check(leaf, d, path);
                return leaf;
            case StructField s:
                int def = parentDef + (s.IsNullable ? 1 : 0);
                return new Node { Kind = Kind.Struct, Name = s.Name, Def = def, Rep = parentRep, Children = s.Fields.Select(c => Build(c, parentRep, def, path)).ToArray() };
            case ListField l:
                return new Node { Kind = Kind.List, Name = l.Name, Def = parentDef + 1, ElementDef = parentDef + 2, Rep = parentRep + 1, Children = [Build(l.Item, parentRep + 1, parentDef + 2, path)] };
            case MapField m:
                return new Node
                {
                    Kind = Kind.Map, Name = m.Name, Def = parentDef + 1, ElementDef = parentDef + 2, Rep = parentRep + 1,
                    Children = [Build(m.Key, parentRep + 1, parentDef + 2, path), Build(m.Value, parentRep + 1, parentDef + 2, path)],
                };
            default:
                throw new GrouperException(GrouperErrorKind.SchemaMismatch, $"Column '{f.Name}' of {path} is a {f.SchemaType} column, which Grouper cannot read.", path);
        }
    }

    private static void Check(Node leaf, DataField d, string path)
    {
        if (leaf.Def != d.MaxDefinitionLevel || leaf.Rep != d.MaxRepetitionLevel)
            throw new GrouperException(GrouperErrorKind.SchemaMismatch,
                $"Column '{d.Path}' of {path} is nested in a layout Grouper cannot read (levels {d.MaxDefinitionLevel}/{d.MaxRepetitionLevel}, expected {leaf.Def}/{leaf.Rep}).", path);
    }

    private void Collect(Node node, List<Node> nodes, List<int> index)
    {
        nodes.Add(node);
        node.Leaf = _leaves.Count;
        if (node.Kind == Kind.Leaf) _leaves.Add(new LeafPath(node.Field!, nodes.ToArray(), [.. index, 0]));
        for (int i = 0; i < node.Children.Length; i++)
        {
            index.Add(i);
            Collect(node.Children[i], nodes, index);
            index.RemoveAt(index.Count - 1);
        }
        node.LeafEnd = _leaves.Count;
        nodes.RemoveAt(nodes.Count - 1);
    }

    public override void Load(Func<ParquetRowGroupReader> rg, RowGroupFile file, int count)
    {
        _rowsInGroup = count;
        if (_data.Length != _leaves.Count) _data = new LeafData[_leaves.Count];
        _chunks ??= new PlainTextChunk?[_leaves.Count];
        for (int i = 0; i < _leaves.Count; i++)
            _data[i] = (_parquetNetOnly ? null : OwnLeaf.TryRead(file, _leaves[i], ref _chunks[i])) ?? LeafData.Read(rg(), _leaves[i]);
        _jsonFrom = 0;
        // A row group's JSON of a few megabytes is written here, with its leaves: a source reads the next row group
        // on another thread, and the reading thread, which assembled a nested column's JSON a window at a time, was
        // the build's bottleneck while that core idled. Larger ones are written a window at a time (Advance), where
        // only a window's JSON is in memory.
        long estimate = 8L * count;
        bool streamed = false;
        foreach (var leaf in _data)
        {
            estimate += leaf.JsonBytesEstimate();
            streamed |= leaf is OwnLeaf { Streamed: true };
        }
        _whole = estimate <= WholeGroupJsonBytes && !streamed;
        if (_whole) Write(0, count);
    }

    /// <summary>The leaves' values and levels, the chunks' buffers and the JSON written (a row group's, when written whole).</summary>
    public override long MemoryHeld
    {
        get
        {
            long bytes = _json.MemoryHeld;
            foreach (var leaf in _data) bytes += leaf?.MemoryHeld ?? 0;
            foreach (var chunk in _chunks ?? []) bytes += chunk?.BufferBytes ?? 0;
            return bytes;
        }
    }

    /// <summary>A row group whose JSON is estimated at no more than this is written as it is loaded (<see cref="Load"/>); its reader sets it.</summary>
    internal long WholeGroupJsonBytes { get; set; }

    // Whether the current row group's JSON was written whole as it was loaded.
    private bool _whole;

    /// <summary>Whether the current row group's JSON was written as it was loaded (tests).</summary>
    internal bool WroteWholeGroup => _whole;

    // A reader of each leaf's chunks, for the leaves Grouper reads (OwnLeaf).
    private PlainTextChunk?[]? _chunks;

    /// <summary>Whether Grouper read leaf <paramref name="leaf"/> of the current row group, not Parquet.Net (tests).</summary>
    internal bool LeafReadByGrouper(int leaf) => _data[leaf] is OwnLeaf;

    /// <summary>Whether leaf <paramref name="leaf"/> of the current row group is streamed, a window of entries at a time (tests).</summary>
    internal bool LeafStreamed(int leaf) => _data[leaf] is OwnLeaf { Streamed: true };

    /// <summary>Rows [from, from + count) are written as JSON now, unless the row group's were as it was loaded.</summary>
    public override void Advance(int from, int count)
    {
        if (!_whole) Write(from, count);
    }

    /// <summary>
    /// Rows [from, from + count) written as JSON from the leaves' entries: the leaves' values stay as they were read.
    /// </summary>
    private void Write(int from, int count)
    {
        _json.Clear(count);
        if (_listsOnly)
        {
            // Lists of lists of values (token lists, the common case): a loop of their own.
            _data[0].WriteLists(_json, from, count);
        }
        else
        {
            // Structs, lists of structs, maps, structs holding lists: written from the leaves' entries in document order.
            var top = _data[_top.Leaf];
            for (int r = 0; r < count; r++)
            {
                foreach (var leaf in _data) leaf.BeginRow();
                if (top.DefHere < _top.Def)
                {
                    _json.Null(r);
                    SkipAll(_top);
                    continue;
                }
                int start = _json.Position;
                WriteNode(_top);
                _json.EndRaw(r, start);
            }
        }
        _jsonFrom = from;
        if (from + count == _rowsInGroup)
            foreach (var leaf in _data) leaf.CheckEnd(_rowsInGroup);
    }

    private LeafData[] _data = [];
    private int _rowsInGroup, _jsonFrom;

    public override bool IsNull(int row) => _json.IsNull(row - _jsonFrom);
    public override string GetString(int row) => Encoding.UTF8.GetString(_json.Utf8(row - _jsonFrom));

    // The JSON as written: the builder copies it as it is, with no string between.
    public override bool TryGetUtf8(int row, out ReadOnlySpan<byte> utf8)
    {
        utf8 = _json.Utf8(row - _jsonFrom);
        return true;
    }

    /// <summary>One leaf column of the current row group: its values (those not null, in order), levels, and how far they are placed.</summary>
    private abstract class LeafData
    {
        public required LeafPath Path;
        // Levels as bytes (a quarter of Parquet.Net's ints: a row group of long lists has millions of them);
        // they never exceed the nesting's depth.
        public byte[]? Rep, Def;
        public int Entries;
        // The next entry and value to place, and the row of the last entry placed (rows counted in the row group).
        private int _value, _row = -1;
        // The current entry (an OwnLeaf's value is its current entry's), and the entries at hand: the levels
        // arrays hold entries from _base, and entries before _ready are in them (all, but for a streamed leaf).
        protected int _entry, _base, _ready = int.MaxValue;

        /// <summary>Makes the current entry's levels and value available (a streamed leaf's next window).</summary>
        protected virtual void Fill() { }

        protected abstract object? Value(int i);

        private static readonly MethodInfo ReadOf = typeof(LeafData).GetMethod(nameof(ReadTyped), BindingFlags.NonPublic | BindingFlags.Static)!;

        public static LeafData Read(ParquetRowGroupReader rg, LeafPath leaf)
        {
            // Its buffers are pooled: copied out, and given back.
            using var raw = rg.ReadRawColumnDataBaseAsync(leaf.Field, default).GetAwaiter().GetResult();
            var type = raw.GetType();
            if (!type.IsGenericType) throw new InvalidDataException($"Unexpected column data {type.Name} for '{leaf.Field.Path}'.");
            var data = (LeafData)ReadOf.MakeGenericMethod(type.GetGenericArguments()[0]).Invoke(null, [raw, leaf])!;
            var last = leaf.Nodes[^1];
            var rep = last.Rep > 0 ? Bytes(raw.RepetitionLevels) : null;
            var def = last.Def > 0 ? Bytes(raw.DefinitionLevels) : null;
            data.SetLevels(rep, def, def?.Length ?? rep?.Length ?? data.Count);
            return data;
        }

        private static byte[] Bytes(ReadOnlySpan<int> levels)
        {
            var bytes = new byte[levels.Length];
            for (int i = 0; i < levels.Length; i++) bytes[i] = checked((byte)levels[i]);
            return bytes;
        }

        private static LeafData ReadTyped<T>(RawColumnData raw, LeafPath leaf) where T : struct =>
            new Of<T> { Path = leaf, Values = ((RawColumnData<T>)raw).Values.ToArray() };

        protected abstract int Count { get; }

        /// <summary>Bytes of the leaf's own arrays (a leaf Grouper reads holds its levels and values in its chunk's buffers).</summary>
        public virtual long MemoryHeld => (Rep?.Length ?? 0) + (Def?.Length ?? 0);

        /// <summary>The JSON of this leaf's entries, estimated from above but for escapes: values, separators and brackets, the names of the struct fields on its path.</summary>
        public virtual long JsonBytesEstimate() => EntryBytes + 32L * Count;

        protected long EntryBytes => (long)Entries * (8 + Path.NameBytes);

        private sealed class Of<T> : LeafData where T : struct
        {
            public required T[] Values;
            protected override int Count => Values.Length;
            public override long MemoryHeld => base.MemoryHeld + (long)Values.Length * Unsafe.SizeOf<T>();
            // A TIME leaf's raw values are its micro- or nanoseconds (milliseconds in INT32) since midnight: written as
            // they were, bare numbers; a time of day is its text, as to_json gives it.
            private TimeUnit? _time;
            private bool _timeKnown;

            private TimeUnit? Time
            {
                get
                {
                    if (!_timeKnown)
                        (_time, _timeKnown) = (Path.Field is TimeDataField tf && (typeof(T) == typeof(long) || typeof(T) == typeof(int))
                            ? tf.Precision switch { TimeUnitPrecision.Millis => TimeUnit.Millis, TimeUnitPrecision.Nanos => TimeUnit.Nanos, _ => TimeUnit.Micros }
                            : null, true);
                    return _time;
                }
            }

            protected override object? Value(int i) => Time is { } unit ? PlainValues.Time(Convert.ToInt64(Values[i], CultureInfo.InvariantCulture), unit) : Values[i];

            // The common value types without boxing (each test is on a type the compiler knows: one survives).
            protected override void WriteValue(Utf8JsonWriter w, int i)
            {
                if (Time is not null) NestedJson.Write(w, Value(i), 0);
                else if (typeof(T) == typeof(long)) w.WriteNumberValue((long)(object)Values[i]);
                else if (typeof(T) == typeof(int)) w.WriteNumberValue((int)(object)Values[i]);
                else if (typeof(T) == typeof(ReadOnlyMemory<char>)) w.WriteStringValue(((ReadOnlyMemory<char>)(object)Values[i]).Span);
                else NestedJson.Write(w, Plain(Values[i]), 0);
            }
        }

        /// <summary>Sets the levels and counters of a leaf read: <paramref name="rep"/> and <paramref name="def"/> null where the leaf's maximum is 0.</summary>
        protected void SetLevels(byte[]? rep, byte[]? def, int entries)
        {
            (Rep, Def, Entries) = (rep, def, entries);
        }

        /// <summary>
        /// Writes rows [from, from + count) of a leaf under lists only (a list, a list of lists…) straight from its
        /// entries: each entry closes the lists deeper than its repetition level, then opens the new element's
        /// lists down to its definition level, which ends in the value, a null, or an empty list. The brackets,
        /// commas and plain values are written as bytes, as the JSON writer writes them (<see cref="JsonRows"/>):
        /// the writer's escaping check, a generic of CoreLib's compiled at its first tier for a whole short build,
        /// and its calls a value were most of a token list's reading.
        /// </summary>
        [MethodImpl(Hot.Path)]
        public void WriteLists(JsonRows json, int from, int count)
        {
            var nodes = Path.Nodes;
            int leaf = nodes.Length - 1, end = from + count, open = 0, rowStart = 0;
            bool rowOpen = false, comma = false;
            for (; _entry < Entries; _entry++)
            {
                if (_entry >= _ready) Fill();
                int r = Rep![_entry - _base], d = Def?[_entry - _base] ?? nodes[leaf].Def, k;
                if (r == 0)
                {
                    if (_row + 1 >= end) break; // the next window's
                    if (rowOpen)
                    {
                        for (; open > 0; open--) json.Byte((byte)']');
                        json.EndRaw(_row - from, rowStart);
                        rowOpen = false;
                    }
                    _row++;
                    if (d < nodes[0].Def) { json.Null(_row - from); continue; } // a null list
                    rowStart = json.Position;
                    rowOpen = true;
                    json.Byte((byte)'[');
                    open = 1;
                    comma = false;
                    if (d < nodes[0].ElementDef) continue; // an empty list
                    k = 1;
                }
                else
                {
                    // A damaged file's level: nothing else validates it.
                    if (r > leaf || !rowOpen) throw new InvalidDataException($"'{Path.Field.Path}' has a repetition level of {r} where at most {(rowOpen ? leaf : 0)} can be.");
                    for (; open > r; open--) { json.Byte((byte)']'); comma = true; }
                    k = r;
                }
                // The element of the list at nodes[k - 1]: its item is nodes[k]. A comma after a value, a null or a
                // list's end, none after a list's start, as the writer puts them.
                if (comma) json.Byte((byte)',');
                bool empty = false;
                for (; k < leaf; k++)
                {
                    if (d < nodes[k].Def) break; // a null list
                    json.Byte((byte)'[');
                    open++;
                    if (d < nodes[k].ElementDef) { empty = true; break; }
                }
                if (empty) { comma = false; continue; }
                if (k < leaf || d < nodes[leaf].Def) json.Raw("null"u8);
                else WriteValue(json, _value++);
                comma = true;
            }
            if (rowOpen)
            {
                for (; open > 0; open--) json.Byte((byte)']');
                json.EndRaw(_row - from, rowStart);
            }
        }

        /// <summary>Value <paramref name="i"/> as the JSON writer writes it, at the end of <paramref name="json"/>'s buffer.</summary>
        protected virtual void WriteValue(JsonRows json, int i)
        {
            WriteValue(json.BeginValue(), i);
            json.EndValue();
        }

        protected abstract void WriteValue(Utf8JsonWriter w, int i);

        // Record assembly (NestedJsonColumn.WriteNode): the current entry, consumed one at a time.

        /// <summary>A new row starts at the current entry (its repetition level is 0).</summary>
        public void BeginRow()
        {
            if (_entry >= Entries) throw new InvalidDataException($"'{Path.Field.Path}' holds fewer rows than its row group.");
            if (_entry >= _ready) Fill();
            if (Rep is { } rep && rep[_entry - _base] != 0) throw new InvalidDataException($"'{Path.Field.Path}' has a repetition level of {rep[_entry - _base]} at a row's start.");
            _row++;
        }

        /// <summary>The current entry's definition level.</summary>
        public int DefHere
        {
            get
            {
                if (_entry >= Entries) throw new InvalidDataException($"'{Path.Field.Path}' holds fewer values than its row group's lists.");
                if (_entry >= _ready) Fill();
                return Def?[_entry - _base] ?? Path.Nodes[^1].Def;
            }
        }

        /// <summary>The repetition level of the entry after those consumed: -1 at the chunk's end (a new row's level is 0).</summary>
        public int RepAfter
        {
            get
            {
                if (_entry >= Entries) return -1;
                if (_entry >= _ready) Fill();
                return Rep?[_entry - _base] ?? 0;
            }
        }

        /// <summary>Consumes the current entry: an absent or empty place.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Skip()
        {
            if (DefHere >= Path.Nodes[^1].Def) _value++; // a damaged file's: the value goes with its entry
            _entry++;
        }

        /// <summary>Writes the current entry's value, or null, and consumes it.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void WriteHere(JsonRows json)
        {
            if (DefHere < Path.Nodes[^1].Def) json.Raw("null"u8);
            else WriteValue(json, _value++);
            _entry++;
        }

        /// <summary>Writes the current entry's value as a map's key (<c>"key":</c>, its text; a null key's is empty) and consumes it.</summary>
        public void WriteKeyHere(JsonRows json)
        {
            if (DefHere < Path.Nodes[^1].Def) json.Property("");
            else WriteKey(json, _value++);
            _entry++;
        }

        /// <summary>
        /// A map's key other than text: the text of its JSON as a value (base64 for bytes, ISO 8601 for dates and
        /// timestamps, as the format says). Its .NET text made every blob key "System.Byte[]" (one JSON name for
        /// all, and engines keep the last) and timestamps "01/02/2024 03:04:05", their fractions gone.
        /// </summary>
        protected virtual void WriteKey(JsonRows json, int i)
        {
            var buffer = new ArrayBufferWriter<byte>(64);
            using (var w = new Utf8JsonWriter(buffer, NestedJson.Options)) WriteValue(w, i);
            var r = new Utf8JsonReader(buffer.WrittenSpan);
            r.Read();
            json.Property(r.TokenType == JsonTokenType.String ? r.GetString() ?? "" : Encoding.UTF8.GetString(buffer.WrittenSpan));
        }

        public void CheckEnd(int rowsInGroup)
        {
            if (_entry != Entries || _row + 1 != rowsInGroup)
                throw new InvalidDataException($"'{Path.Field.Path}' holds {_row + 1} rows, not its row group's {rowsInGroup}.");
        }
    }

    /// <summary>
    /// A leaf of text (UTF-8), booleans, integers (INT32, INT64, of any width and sign), floating-point numbers,
    /// dates, timestamps (INT64) or decimals (INT32, INT64), read by Grouper
    /// (<see cref="PlainTextChunk.TryLoadLeveled"/>): its levels and values as they lie in the pages, written
    /// as JSON from there, as Parquet.Net's reading of the leaf would have them written (a string, a number).
    /// Parquet.Net's generic reading copied every value into a .NET string or a boxed array first, and its code
    /// for each type was compiled at first use: a nested file took twice the time of the same file without its
    /// nested column.
    /// </summary>
    private sealed class OwnLeaf : LeafData
    {
        private PlainTextChunk _chunk = null!;
        private ColumnSpec _spec = null!;  // as a flat column of the leaf's type reads: its kind, a timestamp's unit, a decimal's scale
        private Parquet.Meta.Type _physical;
        private int _count;

        protected override int Count => _count;

        // Its levels and values are its chunk's, counted with the chunk (NestedJsonColumn.MemoryHeld).
        public override long MemoryHeld => 0;

        /// <summary>Whether the leaf's chunk is streamed, a window of entries at a time.</summary>
        public bool Streamed => _chunk.Streaming;

        // Entries a streamed leaf reads at a time.
        internal const int WindowEntries = 1 << 16;

        protected override void Fill()
        {
            int count = Math.Min(WindowEntries, Entries - _entry);
            if (count <= 0) return; // past the chunk: the caller reports it
            _chunk.Advance(_entry, count);
            var last = Path.Nodes[^1];
            // The levels' arrays may have grown: taken again each window.
            SetLevels(last.Rep > 0 ? _chunk.RepetitionLevels : null, last.Def > 0 ? _chunk.DefinitionLevels : null, Entries);
            (_base, _ready) = (_chunk.First, _entry + count);
        }

        /// <summary>The leaf read by Grouper, or null when Parquet.Net is to read it (another type, or pages Grouper does not decode).</summary>
        public static OwnLeaf? TryRead(RowGroupFile file, LeafPath leaf, ref PlainTextChunk? chunk)
        {
            var t = Nullable.GetUnderlyingType(leaf.Field.ClrType) ?? leaf.Field.ClrType;
            ColumnSpec spec;
            try { spec = ParquetRecordReader.ToSpec(leaf.Field, file.Path); }
            catch (GrouperException) { return null; } // a type a flat column cannot have: Parquet.Net's value, written as it is
            // The physical type of Parquet.Net's type for the leaf: a legacy or INT96 timestamp, a time, a decimal in
            // a fixed-length array and binary stay Parquet.Net's.
            Parquet.Meta.Type? physical = spec.Kind switch
            {
                ValueKind.String when t == typeof(string) || t == typeof(ReadOnlyMemory<char>) => Parquet.Meta.Type.BYTE_ARRAY,
                ValueKind.Boolean => Parquet.Meta.Type.BOOLEAN,
                ValueKind.Int8 or ValueKind.Int16 or ValueKind.Int32 or ValueKind.UInt8 or ValueKind.UInt16 or ValueKind.UInt32 => Parquet.Meta.Type.INT32,
                ValueKind.Int64 or ValueKind.UInt64 => Parquet.Meta.Type.INT64,
                ValueKind.Double => Parquet.Meta.Type.DOUBLE,
                ValueKind.Float => Parquet.Meta.Type.FLOAT,
                ValueKind.Date => Parquet.Meta.Type.INT32,
                ValueKind.Timestamp when leaf.Field is DateTimeDataField { DateTimeFormat: DateTimeFormat.Timestamp } => Parquet.Meta.Type.INT64,
                ValueKind.Decimal when leaf.Field is DecimalDataField { Precision: <= 9 } => Parquet.Meta.Type.INT32,
                ValueKind.Decimal when leaf.Field is DecimalDataField { Precision: <= 18 } => Parquet.Meta.Type.INT64,
                _ => null,
            };
            if (physical is null) return null;
            var last = leaf.Nodes[^1];
            chunk ??= new PlainTextChunk(GrouperErrorKind.InvalidData);
            if (!chunk.TryLoadLeveled(file, leaf.Field.Path.ToList(), last.Def, last.Rep, physical.Value, mayStream: true)) return null;
            var own = new OwnLeaf { Path = leaf, _chunk = chunk, _spec = spec, _physical = physical.Value };
            int entries = chunk.Count;
            own.SetLevels(last.Rep > 0 ? chunk.RepetitionLevels : null, last.Def > 0 ? chunk.DefinitionLevels : null, entries);
            if (chunk.Streaming)
            {
                own._ready = 0; // the first window is read as the first entry is asked for
                return own;
            }
            for (int e = 0; e < entries; e++)
                if (!chunk.IsNull(e))
                {
                    own._count++;
                    if (spec.Kind == ValueKind.String) own._textBytes += chunk.GetUtf8(e).Length;
                }
            return own;
        }

        private long _textBytes; // of a text leaf's values

        public override long JsonBytesEstimate() => _spec.Kind == ValueKind.String ? EntryBytes + _textBytes : base.JsonBytesEstimate();

        protected override void WriteKey(JsonRows json, int i)
        {
            if (_spec.Kind == ValueKind.String) json.PropertyUtf8(_chunk.GetUtf8(_entry));
            else base.WriteKey(json, i);
        }

        // The value Parquet.Net's reading gives (as a flat column's reading without it gives it: PlainValues).
        protected override object? Value(int i)
        {
            if (_spec.Kind == ValueKind.Boolean) return _chunk.GetBoolean(_entry);
            var v = _chunk.GetUtf8(_entry);
            return _spec.Kind switch
            {
                ValueKind.String => Encoding.UTF8.GetString(v),
                ValueKind.Int8 or ValueKind.Int16 or ValueKind.Int32 => BinaryPrimitives.ReadInt32LittleEndian(v),
                ValueKind.UInt8 or ValueKind.UInt16 or ValueKind.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(v),
                ValueKind.Int64 => BinaryPrimitives.ReadInt64LittleEndian(v),
                ValueKind.UInt64 => BinaryPrimitives.ReadUInt64LittleEndian(v),
                ValueKind.Float => BinaryPrimitives.ReadSingleLittleEndian(v),
                ValueKind.Double => BinaryPrimitives.ReadDoubleLittleEndian(v),
                // Out of .NET's years (DuckDB's infinity, years past 9999): said as a flat column's is, not as .NET's
                // "Specified argument was out of the range of valid values. (Parameter 'days')".
                ValueKind.Date => PlainValues.TryDayNumber(BinaryPrimitives.ReadInt32LittleEndian(v), out int day) ? DateOnly.FromDayNumber(day)
                    : throw new OverflowException($"'{Path.Field.Path}' holds a date outside the years .NET can hold (1-9999)."),
                ValueKind.Timestamp => PlainValues.TryTimestampTicks(BinaryPrimitives.ReadInt64LittleEndian(v), _spec.Unit, out _)
                    ? PlainValues.Timestamp(BinaryPrimitives.ReadInt64LittleEndian(v), _spec.Unit, _spec.AdjustedToUtc)
                    : throw new OverflowException($"'{Path.Field.Path}' holds a timestamp outside the years .NET can hold (1-9999)."),
                // A time of day is its text, as to_json gives it: read as a decimal below, it came out its micro- or
                // nanoseconds since midnight, a bare number.
                ValueKind.Time => PlainValues.Time(v.Length == 4 ? BinaryPrimitives.ReadInt32LittleEndian(v) : BinaryPrimitives.ReadInt64LittleEndian(v), _spec.Unit),
                _ => PlainValues.TryReadDecimal(v, _physical, _spec.Scale, out var d) ? d : throw new OverflowException($"'{Path.Field.Path}' holds a decimal of more digits than .NET's decimal holds."),
            };
        }

        [MethodImpl(Hot.Path)]
        protected override void WriteValue(JsonRows json, int i)
        {
            switch (_spec.Kind)
            {
                case ValueKind.String: json.String(_chunk.GetUtf8(_entry)); break;
                case ValueKind.Int8 or ValueKind.Int16 or ValueKind.Int32: json.Integer(BinaryPrimitives.ReadInt32LittleEndian(_chunk.GetUtf8(_entry))); break;
                case ValueKind.UInt8 or ValueKind.UInt16 or ValueKind.UInt32: json.Integer(BinaryPrimitives.ReadUInt32LittleEndian(_chunk.GetUtf8(_entry))); break;
                case ValueKind.Int64: json.Integer(BinaryPrimitives.ReadInt64LittleEndian(_chunk.GetUtf8(_entry))); break;
                case ValueKind.UInt64: json.Integer(BinaryPrimitives.ReadUInt64LittleEndian(_chunk.GetUtf8(_entry))); break;
                case ValueKind.Boolean: json.Raw(_chunk.GetBoolean(_entry) ? "true"u8 : "false"u8); break;
                // Formatted into place: through a writer of its own and a copy, 2% of the 1 GB maps file's samples
                // went to that way (0.7% now); formatting the number, the runtime's shortest round-trip text, is 6-7%.
                case ValueKind.Double when json.Number(BinaryPrimitives.ReadDoubleLittleEndian(_chunk.GetUtf8(_entry))): break;
                case ValueKind.Float when json.Number(BinaryPrimitives.ReadSingleLittleEndian(_chunk.GetUtf8(_entry))): break;
                default: base.WriteValue(json, i); break;
            }
        }

        protected override void WriteValue(Utf8JsonWriter w, int i)
        {
            if (_spec.Kind == ValueKind.Boolean)
            {
                w.WriteBooleanValue(_chunk.GetBoolean(_entry));
                return;
            }
            var v = _chunk.GetUtf8(_entry);
            switch (_spec.Kind)
            {
                case ValueKind.String: w.WriteStringValue(v); break; // checked UTF-8 as the page was read
                case ValueKind.Int8 or ValueKind.Int16 or ValueKind.Int32: w.WriteNumberValue(BinaryPrimitives.ReadInt32LittleEndian(v)); break;
                case ValueKind.UInt8 or ValueKind.UInt16 or ValueKind.UInt32: w.WriteNumberValue(BinaryPrimitives.ReadUInt32LittleEndian(v)); break;
                case ValueKind.Int64: w.WriteNumberValue(BinaryPrimitives.ReadInt64LittleEndian(v)); break;
                case ValueKind.UInt64: w.WriteNumberValue(BinaryPrimitives.ReadUInt64LittleEndian(v)); break;
                case ValueKind.Float: NestedJson.WriteDouble(w, BinaryPrimitives.ReadSingleLittleEndian(v)); break;
                case ValueKind.Double: NestedJson.WriteDouble(w, BinaryPrimitives.ReadDoubleLittleEndian(v)); break;
                default: NestedJson.Write(w, Plain(Value(i)), 0); break; // dates, timestamps, decimals: as Parquet.Net's values are written
            }
        }
    }

    /// <summary>
    /// One instance of <paramref name="node"/> written from the current entries of the leaves under it, which it
    /// consumes (Parquet's record assembly): a struct, list or map absent at this place has one entry in each
    /// leaf under it, its definition level saying where the path stops; a list's next element is the next entry
    /// of its first leaf at the list's repetition level. Written as the JSON writer writes the same value, with no
    /// row objects between: assembling them (a list, an array and a boxed value for each) cost a file of a map and
    /// a list of structs beside the typed columns 480 MB of allocation and 0.2 s of collection.
    /// </summary>
    [MethodImpl(Hot.Path)]
    private void WriteNode(Node node)
    {
        if (node.Kind == Kind.Leaf)
        {
            _data[node.Leaf].WriteHere(_json);
            return;
        }
        var lead = _data[node.Leaf];
        int d = lead.DefHere;
        if (d < node.Def)
        {
            _json.Raw("null"u8);
            SkipAll(node);
            return;
        }
        if (node.Kind == Kind.Struct)
        {
            _json.Byte((byte)'{');
            for (int i = 0; i < node.Children.Length; i++)
            {
                if (i > 0) _json.Byte((byte)',');
                _json.Raw(node.Children[i].PropertyJson);
                WriteNode(node.Children[i]);
            }
            _json.Byte((byte)'}');
            return;
        }
        bool map = node.Kind == Kind.Map;
        _json.Byte(map ? (byte)'{' : (byte)'[');
        if (d < node.ElementDef) SkipAll(node); // an empty list or map
        else
        {
            for (bool first = true; ; first = false)
            {
                if (!first)
                {
                    if (lead.DefHere < node.ElementDef) throw new InvalidDataException($"'{lead.Path.Field.Path}' has an element of a list without its definition level.");
                    _json.Byte((byte)',');
                }
                if (map)
                {
                    WriteKey(node.Children[0]);
                    WriteNode(node.Children[1]);
                }
                else WriteNode(node.Children[0]);
                int rep = lead.RepAfter;
                if (rep < node.Rep) break;
                if (rep > node.Rep) throw new InvalidDataException($"'{lead.Path.Field.Path}' has a repetition level of {rep} where at most {node.Rep} can be.");
            }
        }
        _json.Byte(map ? (byte)'}' : (byte)']');
    }

    /// <summary>
    /// A map's key as a property name: a value's text, or a struct's or list's JSON text (its type's name before,
    /// "System.Object[]" for every key), written and then taken back as the name.
    /// </summary>
    private void WriteKey(Node key)
    {
        if (key.Kind == Kind.Leaf)
        {
            _data[key.Leaf].WriteKeyHere(_json);
            return;
        }
        int at = _json.Position;
        WriteNode(key);
        var text = Encoding.UTF8.GetString(_json.Since(at));
        _json.Truncate(at);
        _json.Property(text);
    }

    /// <summary>The current entry of each leaf under <paramref name="node"/>, which is absent (or empty) here, consumed.</summary>
    private void SkipAll(Node node)
    {
        for (int i = node.Leaf; i < node.LeafEnd; i++) _data[i].Skip();
    }

    /// <summary>
    /// The JSON of a window's rows, one after another in one buffer: the builder copies each row's UTF-8 as it
    /// lies, where a string a row cost the collector as much as the rest of the reading.
    /// </summary>
    internal sealed class JsonRows
    {
        // The rows' bytes: a buffer of this assembly's own, not ArrayBufferWriter, a generic whose code for bytes
        // no ReadyToRun image holds (it ran at its first tier for a whole short build).
        private sealed class Bytes
        {
            public byte[] Data = new byte[1 << 16];
            public int Used;

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public Span<byte> GetSpan(int sizeHint = 0)
            {
                if (Data.Length - Used < Math.Max(sizeHint, 1)) Grow(sizeHint);
                return Data.AsSpan(Used);
            }

            public void Advance(int count) => Used += count;

            private void Grow(int sizeHint) => Array.Resize(ref Data, (int)Math.Min(Array.MaxLength, Math.Max(Data.Length * 2L, Used + (long)Math.Max(sizeHint, 1))));
        }

        private readonly Bytes _buffer = new();
        private int[] _start = [], _length = [];

        public long MemoryHeld => _buffer.Data.Length + 4L * ((long)_start.Length + _length.Length);

        /// <summary>A new window of <paramref name="count"/> rows.</summary>
        public void Clear(int count)
        {
            _buffer.Used = 0;
            if (_length.Length < count) { _start = new int[count]; _length = new int[count]; }
        }

        /// <summary>Where the next byte goes (a row written as bytes starts there).</summary>
        public int Position => _buffer.Used;

        /// <summary>What was written since <paramref name="at"/>.</summary>
        public ReadOnlySpan<byte> Since(int at) => _buffer.Data.AsSpan(at, _buffer.Used - at);

        /// <summary>Forgets what was written since <paramref name="at"/>.</summary>
        public void Truncate(int at) => _buffer.Used = at;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Byte(byte b)
        {
            if (_buffer.Used == _buffer.Data.Length) _buffer.GetSpan(1);
            _buffer.Data[_buffer.Used++] = b;
        }

        public void Raw(ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(_buffer.GetSpan(bytes.Length));
            _buffer.Advance(bytes.Length);
        }

        /// <summary>Row <paramref name="row"/> of the window is what was written as bytes since <paramref name="start"/>.</summary>
        public void EndRaw(int row, int start)
        {
            _start[row] = start;
            _length[row] = _buffer.Used - start;
        }

        /// <summary>
        /// Text as the writer writes a string value: between quotes, as it is where the writer's encoder escapes none
        /// of its bytes (ASCII it passes), else by the writer.
        /// </summary>
        [MethodImpl(Hot.Path)]
        public void String(ReadOnlySpan<byte> utf8)
        {
            if (utf8.Length <= 4096 && Plain(utf8))
            {
                var span = _buffer.GetSpan(utf8.Length + 2);
                span[0] = (byte)'"';
                utf8.CopyTo(span[1..]);
                span[utf8.Length + 1] = (byte)'"';
                _buffer.Advance(utf8.Length + 2);
                return;
            }
            BeginValue().WriteStringValue(utf8);
            EndValue();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static bool Plain(ReadOnlySpan<byte> utf8)
        {
            foreach (var b in utf8)
                if (!PlainAscii[b]) return false;
            return true;
        }

        /// <summary>An integer as the writer writes it (<see cref="System.Buffers.Text.Utf8Formatter"/>'s default format).</summary>
        public void Integer(long value)
        {
            var span = _buffer.GetSpan(24);
            System.Buffers.Text.Utf8Formatter.TryFormat(value, span, out int n);
            _buffer.Advance(n);
        }

        /// <summary>An unsigned integer as the writer writes it.</summary>
        public void Integer(ulong value)
        {
            var span = _buffer.GetSpan(24);
            System.Buffers.Text.Utf8Formatter.TryFormat(value, span, out int n);
            _buffer.Advance(n);
        }

        /// <summary>
        /// A finite number as the writer writes it (its shortest text that reads back as the same double); false,
        /// and nothing written, for NaN and the infinities, which are written as strings (<see cref="NestedJson.WriteDouble"/>).
        /// </summary>
        public bool Number(double value)
        {
            if (!double.IsFinite(value)) return false;
            var span = _buffer.GetSpan(32);
            System.Buffers.Text.Utf8Formatter.TryFormat(value, span, out int n);
            _buffer.Advance(n);
            return true;
        }

        // The bytes the writer's encoder leaves as they are in a string: asked of the writer itself, byte by byte.
        internal static readonly bool[] PlainAscii = AskWriter();

        private static bool[] AskWriter()
        {
            var plain = new bool[256];
            var buffer = new ArrayBufferWriter<byte>(16);
            using var w = new Utf8JsonWriter(buffer, NestedJson.Options);
            for (int b = 0; b < 128; b++)
            {
                buffer.ResetWrittenCount();
                w.Reset(buffer);
                w.WriteStringValue([(byte)b]);
                w.Flush();
                plain[b] = buffer.WrittenSpan.SequenceEqual([(byte)'"', (byte)b, (byte)'"']);
            }
            return plain;
        }

        /// <summary><c>"name":</c> at the end of the buffer, as the writer writes a property's name.</summary>
        public void Property(string name)
        {
            foreach (char c in name)
                if (c >= 128 || !PlainAscii[c])
                {
                    Raw(PropertyBytes(name));
                    return;
                }
            var span = _buffer.GetSpan(name.Length + 3);
            span[0] = (byte)'"';
            for (int i = 0; i < name.Length; i++) span[i + 1] = (byte)name[i];
            span[name.Length + 1] = (byte)'"';
            span[name.Length + 2] = (byte)':';
            _buffer.Advance(name.Length + 3);
        }

        /// <summary>As <see cref="Property(string)"/>, of a name held as UTF-8.</summary>
        [MethodImpl(Hot.Path)]
        public void PropertyUtf8(ReadOnlySpan<byte> name)
        {
            if (name.Length > 4096 || !Plain(name))
            {
                Raw(PropertyBytes(Encoding.UTF8.GetString(name)));
                return;
            }
            var span = _buffer.GetSpan(name.Length + 3);
            span[0] = (byte)'"';
            name.CopyTo(span[1..]);
            span[name.Length + 1] = (byte)'"';
            span[name.Length + 2] = (byte)':';
            _buffer.Advance(name.Length + 3);
        }

        /// <summary><c>"name":</c> as the writer writes a property's name.</summary>
        public static byte[] PropertyBytes(string name)
        {
            var buffer = new ArrayBufferWriter<byte>(name.Length + 16);
            using (var w = new Utf8JsonWriter(buffer, NestedJson.Options))
            {
                w.WriteStartObject();
                w.WritePropertyName(name);
                w.WriteNullValue();
                w.WriteEndObject();
            }
            return buffer.WrittenSpan[1..^5].ToArray(); // without { and null}
        }

        // A value of another kind: written by a writer of its own, then copied (it would put no comma before it).
        private readonly ArrayBufferWriter<byte> _scratch = new(256);
        private Utf8JsonWriter? _valueWriter;

        public Utf8JsonWriter BeginValue()
        {
            _scratch.ResetWrittenCount();
            if (_valueWriter is null) _valueWriter = new Utf8JsonWriter(_scratch, NestedJson.Options);
            else _valueWriter.Reset(_scratch);
            return _valueWriter;
        }

        public void EndValue()
        {
            _valueWriter!.Flush();
            Raw(_scratch.WrittenSpan);
        }

        public void Null(int row) => _length[row] = -1;
        public bool IsNull(int row) => _length[row] < 0;
        public ReadOnlySpan<byte> Utf8(int row) => _length[row] <= 0 ? default : _buffer.Data.AsSpan(_start[row], _length[row]);
    }

    private static object? Plain(object? value) => value switch
    {
        ReadOnlyMemory<char> chars => chars.ToString(),
        ReadOnlyMemory<byte> bytes => bytes.ToArray(),
        // A timestamp not adjusted to UTC is a wall-clock time (of kind Local as read, its ticks unchanged): written
        // without an offset, which would be this machine's zone's, and the same input's JSON would differ by machine.
        DateTime { Kind: DateTimeKind.Local } t => DateTime.SpecifyKind(t, DateTimeKind.Unspecified),
        _ => value,
    };
}
