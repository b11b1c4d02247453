using System.Collections.Concurrent;
using System.Management.Automation;
using System.Reflection;
using System.Reflection.Emit;

namespace Grouper.PowerShell;

/// <summary>
/// A record of a grouped dataset, as Get-GroupRecord writes it: an object of a class made for its dataset's
/// columns, one public field a column, in the columns' order (<c>$r.user_id</c>, <c>$r.'first name'</c>,
/// Select-Object, Export-Csv and ConvertTo-Json see them as properties). The class derives from this one,
/// so <c>$r -is [Grouper.PowerShell.GroupRecord]</c> tells a record.
/// </summary>
/// <remarks>
/// A class of its own instead of a PSObject with a note property a column: PowerShell builds a PSObject's
/// members one by one, each checked against the session's type data, and a record's cost was half the time
/// a pipeline took to read a dataset. A class's members are looked up once for the class.
/// </remarks>
public abstract class GroupRecord
{
    /// <summary>
    /// As PowerShell writes a PSCustomObject in a string (<c>"$r"</c>, Write-Host): <c>@{user=u1; n=1}</c>, each
    /// value converted as PowerShell converts it to text.
    /// </summary>
    public override string ToString()
    {
        var fields = RecordTypes.FieldsOf(GetType());
        var parts = new string[fields.Length];
        for (int i = 0; i < fields.Length; i++)
            parts[i] = fields[i].Name + "=" + (LanguagePrimitives.ConvertTo<string>(fields[i].GetValue(this)) ?? "");
        return "@{" + string.Join("; ", parts) + "}";
    }
}

/// <summary>The record classes of lists of column names, made once a process for each list.</summary>
internal static class RecordTypes
{
    private static readonly ConcurrentDictionary<string, Func<object?[], object>?> s_factories = new(StringComparer.Ordinal);
    private static readonly Lazy<ModuleBuilder> s_module = new(() =>
        AssemblyBuilder.DefineDynamicAssembly(new AssemblyName("Grouper.Records"), AssemblyBuilderAccess.Run).DefineDynamicModule("Grouper.Records"));
    private static int s_count;
    private static readonly ConcurrentDictionary<Type, FieldInfo[]> s_fields = new();

    /// <summary>The column fields of a record class, in the columns' order.</summary>
    public static FieldInfo[] FieldsOf(Type type) =>
        s_fields.GetOrAdd(type, t => t.GetFields(BindingFlags.Public | BindingFlags.Instance).OrderBy(f => f.MetadataToken).ToArray());

    /// <summary>
    /// The property names of columns: a column whose name equals an earlier one's but for case gets a number
    /// (<c>A</c> after <c>a</c> is <c>A_2</c>), as PowerShell's members cannot tell such names apart (a
    /// PSObject took the later column's value for both; a class with both is refused). <paramref name="renamed"/>
    /// lists those columns (null when none).
    /// </summary>
    public static List<string> PropertyNames(IEnumerable<string> columns, out string? renamed)
    {
        var names = columns.ToList();
        var taken = new HashSet<string>(names.Count, StringComparer.OrdinalIgnoreCase);
        // A number is not taken where a later column has that name already.
        var columnNames = new HashSet<string>(names, StringComparer.OrdinalIgnoreCase);
        List<string>? notes = null;
        for (int i = 0; i < names.Count; i++)
        {
            if (taken.Add(names[i])) continue;
            string name;
            int k = 2;
            while (columnNames.Contains(name = $"{names[i]}_{k}") || !taken.Add(name)) k++;
            (notes ??= []).Add($"'{names[i]}' as '{name}'");
            names[i] = name;
        }
        renamed = notes is null ? null : string.Join(", ", notes);
        return names;
    }

    /// <summary>
    /// Makes records of <paramref name="names"/> (unique but for case: <see cref="PropertyNames"/>) from their
    /// values (in the same order), or null when the names cannot be a class's fields (an empty one, or one the
    /// type system refuses): then <see cref="Create"/> makes PSObjects with note properties, as before.
    /// </summary>
    /// <remarks>
    /// A column named as a member PowerShell gives every object (PSObject, PSBase…) is a field too: such a note
    /// property is refused, so those datasets could not be read; the field is there in <c>$r.PSObject.Properties</c>.
    /// </remarks>
    public static Func<object?[], object>? FactoryFor(IReadOnlyList<string> names) =>
        s_factories.GetOrAdd(string.Join('\0', names) + "\0" + names.Count, _ => Make(names));

    /// <summary>A record of <paramref name="names"/> and <paramref name="values"/>, through <paramref name="factory"/> when there is one.</summary>
    public static object Create(Func<object?[], object>? factory, IReadOnlyList<string> names, object?[] values)
    {
        if (factory is not null) return factory(values);
        var o = new PSObject();
        for (int i = 0; i < names.Count; i++) o.Properties.Add(new PSNoteProperty(names[i], values[i]));
        return o;
    }

    private static Func<object?[], object>? Make(IReadOnlyList<string> names)
    {
        foreach (var n in names)
            if (string.IsNullOrEmpty(n) || n.Contains('\0')) return null;
        try
        {
            lock (s_module)
            {
                // Names carry no meaning for PowerShell beyond the type's; a number keeps each unique.
                var type = s_module.Value.DefineType($"Grouper.Records.Record{++s_count}",
                    TypeAttributes.Public | TypeAttributes.Sealed | TypeAttributes.Class, typeof(GroupRecord));
                var fields = names.Select(n => type.DefineField(n, typeof(object), FieldAttributes.Public)).ToArray();
                var ctor = type.DefineDefaultConstructor(MethodAttributes.Public);
                // Create(object[] values): a new record, field i from values[i].
                var create = type.DefineMethod("Create", MethodAttributes.Assembly | MethodAttributes.Static, typeof(object), [typeof(object[])]);
                var il = create.GetILGenerator();
                il.Emit(OpCodes.Newobj, ctor);
                for (int i = 0; i < fields.Length; i++)
                {
                    il.Emit(OpCodes.Dup);
                    il.Emit(OpCodes.Ldarg_0);
                    il.Emit(OpCodes.Ldc_I4, i);
                    il.Emit(OpCodes.Ldelem_Ref);
                    il.Emit(OpCodes.Stfld, fields[i]);
                }
                il.Emit(OpCodes.Ret);
                var made = type.CreateType();
                return made.GetMethod("Create", BindingFlags.NonPublic | BindingFlags.Static)!.CreateDelegate<Func<object?[], object>>();
            }
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or InvalidOperationException or TypeLoadException or PlatformNotSupportedException)
        {
            // A runtime without Reflection.Emit, or names the type system refuses: PSObjects, as before.
            return null;
        }
    }
}
