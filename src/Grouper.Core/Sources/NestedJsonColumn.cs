using System.Collections;
using System.Collections.Specialized;
using System.Globalization;
using System.Reflection;
using Grouper.Format;
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
/// Every value of a row group is materialised here; nested columns are the rare case, not the hot path.
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
    }

    /// <summary>A leaf column and the nodes from the top to it, with the position of each next node among its parent's children.</summary>
    private sealed record LeafPath(DataField Field, Node[] Nodes, int[] ChildIndex);

    private readonly Node _top;
    private readonly List<LeafPath> _leaves = new();
    private string?[] _json = [];

    public NestedJsonColumn(Field field, string path)
    {
        _top = Build(field, 0, 0, path);
        Collect(_top, [], []);
    }

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
        if (node.Kind == Kind.Leaf) _leaves.Add(new LeafPath(node.Field!, nodes.ToArray(), [.. index, 0]));
        for (int i = 0; i < node.Children.Length; i++)
        {
            index.Add(i);
            Collect(node.Children[i], nodes, index);
            index.RemoveAt(index.Count - 1);
        }
        nodes.RemoveAt(nodes.Count - 1);
    }

    public override void Load(ParquetRowGroupReader rg, RowGroupFile file, int count)
    {
        var rows = new object?[count];
        foreach (var leaf in _leaves) Assemble(rg, leaf, rows);
        if (_json.Length != count) _json = new string?[count];
        for (int r = 0; r < count; r++) _json[r] = rows[r] is null ? null : NestedJson.Write(ToPlain(_top, rows[r])!);
    }

    public override bool IsNull(int row) => _json[row] is null;
    public override string GetString(int row) => _json[row]!;

    /// <summary>Puts one leaf column's values into the rows' values, creating the structs, lists and map entries on its path.</summary>
    private static void Assemble(ParquetRowGroupReader rg, LeafPath leaf, object?[] rows)
    {
        var raw = rg.ReadRawColumnDataBaseAsync(leaf.Field, default).GetAwaiter().GetResult();
        var values = Boxed(raw);
        var last = leaf.Nodes[^1];
        int[]? rl = last.Rep > 0 ? raw.RepetitionLevels.ToArray() : null;
        int[]? dl = last.Def > 0 ? raw.DefinitionLevels.ToArray() : null;
        int entries = dl?.Length ?? rl?.Length ?? values.Length;
        var counters = new int[last.Rep + 1]; // counters[k]: the element of the list (or map) of repetition level k
        int row = -1, next = 0;
        for (int e = 0; e < entries; e++)
        {
            int r = rl?[e] ?? 0, d = dl?[e] ?? last.Def;
            if (r == 0)
            {
                if (++row >= rows.Length) throw new InvalidDataException($"'{leaf.Field.Path}' holds more rows than its row group ({rows.Length}).");
                Array.Clear(counters);
            }
            else
            {
                counters[r]++;
                for (int k = r + 1; k < counters.Length; k++) counters[k] = 0;
            }
            IList slots = rows;
            int slot = row;
            for (int i = 0; i < leaf.Nodes.Length; i++)
            {
                var node = leaf.Nodes[i];
                if (d < node.Def) break; // null here (or, for a list, absent): nothing below
                if (node.Kind == Kind.Leaf)
                {
                    slots[slot] = values[next++];
                    break;
                }
                if (node.Kind == Kind.Struct)
                {
                    if (slots[slot] is not object?[] fields) slots[slot] = fields = new object?[node.Children.Length];
                    slots = fields;
                    slot = leaf.ChildIndex[i];
                    continue;
                }
                if (slots[slot] is not List<object?> list) slots[slot] = list = new List<object?>();
                if (d < node.ElementDef) break; // an empty list
                int at = counters[node.Rep];
                while (list.Count <= at) list.Add(node.Kind == Kind.Map ? new object?[2] : null);
                if (node.Kind == Kind.Map)
                {
                    slots = (object?[])list[at]!;
                    slot = leaf.ChildIndex[i];
                }
                else
                {
                    slots = list;
                    slot = at;
                }
            }
        }
        if (row + 1 != rows.Length) throw new InvalidDataException($"'{leaf.Field.Path}' holds {row + 1} rows, not its row group's {rows.Length}.");
    }

    private static readonly MethodInfo BoxedOf = typeof(NestedJsonColumn).GetMethod(nameof(BoxedValues), BindingFlags.NonPublic | BindingFlags.Static)!;

    /// <summary>The leaf's values that are not null, in order, as objects.</summary>
    private static object?[] Boxed(RawColumnData raw)
    {
        var type = raw.GetType();
        if (!type.IsGenericType) throw new InvalidDataException($"Unexpected column data {type.Name}.");
        return (object?[])BoxedOf.MakeGenericMethod(type.GetGenericArguments()[0]).Invoke(null, [raw])!;
    }

    private static object?[] BoxedValues<T>(RawColumnData raw) where T : struct
    {
        var values = ((RawColumnData<T>)raw).Values;
        var boxed = new object?[values.Length];
        for (int i = 0; i < values.Length; i++) boxed[i] = values[i];
        return boxed;
    }

    /// <summary>A row's assembled value as what <see cref="NestedJson"/> writes: dictionaries in field order, lists, plain values.</summary>
    private static object? ToPlain(Node node, object? value)
    {
        if (value is null) return null;
        switch (node.Kind)
        {
            case Kind.Struct:
                var fields = (object?[])value;
                var obj = new OrderedDictionary(node.Children.Length, StringComparer.Ordinal);
                for (int i = 0; i < node.Children.Length; i++) obj[node.Children[i].Name] = ToPlain(node.Children[i], fields[i]);
                return obj;
            case Kind.List:
                return ((List<object?>)value).Select(v => ToPlain(node.Children[0], v)).ToList();
            case Kind.Map:
                var map = new OrderedDictionary(StringComparer.Ordinal);
                foreach (var entry in (List<object?>)value)
                {
                    var kv = (object?[])entry!;
                    map[Convert.ToString(ToPlain(node.Children[0], kv[0]), CultureInfo.InvariantCulture) ?? ""] = ToPlain(node.Children[1], kv[1]);
                }
                return map;
            default:
                return value switch
                {
                    ReadOnlyMemory<char> chars => chars.ToString(),
                    ReadOnlyMemory<byte> bytes => bytes.ToArray(),
                    _ => value,
                };
        }
    }
}
