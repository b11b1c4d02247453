using System.Reflection;
using System.Runtime.CompilerServices;

namespace Grouper.Util;

/// <summary>
/// <c>[MethodImpl(Hot.Path)]</c> marks the loops a build spends its time in (per record, per value, per
/// spill block). They are compiled fully optimised on their first call instead of climbing the runtime's
/// tiers: from ReadyToRun code (which calls, not inlines, span and list members of other assemblies)
/// through a profiling tier whose block counters call into the runtime on every pass. A 1 GB build spent
/// its first seconds of each phase there, and the tiering compiler's thread shares two cores with the
/// build's own two threads. Three kinds are marked:
/// <list type="bullet">
/// <item>A method called once that loops over every record (<c>AddAllOwn</c> for Grouper's own readers, <c>AddAllGeneral</c>,
/// <c>ShardWriter.WriteAll</c>): the runtime replaces a method's code only for later calls, so such a loop
/// ran its ReadyToRun code to the end of the phase (a tenth of the merging thread's time in a 1 GB build).</item>
/// <item>Loops that call nothing virtual (the CSV tokenizer, the sort, the spill writer).</item>
/// <item>The per-record members reached through an override whose callers gain nothing from inlining them:
/// record streams (<see cref="Writer.RecordStream"/> keeps the record's place in fields, so the stream's
/// <c>MoveNext</c> is its one virtual call), the merge, decoding a row into the column sinks. Marking them
/// took 7-8% off 1 GB builds of every format and 17% off the 10 MB Parquet build.</item>
/// <item>A scan's text path: the page decoder (<c>PlainTextChunk.ReadPage</c>) and the accessors from a batch
/// to a value's UTF-8. A one-second scan ran them in their profiling tier for much of its time, and how soon
/// each left it made the same scan take 0.7 or 1.0 s: marked, the 1 GB scan's median 0.68-0.71 against
/// 0.75-0.80 s in three sets of 8 pairs, and steadier.</item>
/// </list>
/// Small helpers called from marked loops are <c>AggressiveInlining</c> (a method marked only
/// <c>Hot.Path</c> is not inlined). Not marked: the general row encoder, the key extractor and the JSON
/// reader's full parse, whose callers inline the record reader's small members through profile-guided devirtualisation
/// (marking them made builds slower). Records of Grouper's own readers (CSV, JSON Lines, Parquet) have a path
/// of their own that reaches text and the key without virtual calls (<c>GroupedDatasetBuilder.AddOwn</c>,
/// <c>RowCodec.EncodeOwn</c>), marked: a 1 GB CSV build's reading phase 5-8% shorter for the encoder, 4-6%
/// more for the key and the rest of the record's way into the sort; JSON Lines 7%, Parquet 8-9%.
/// </summary>
internal static class Hot
{
    public const MethodImplOptions Path = MethodImplOptions.AggressiveOptimization;

    /// <summary>
    /// Compiles the marked methods of <paramref name="types"/> on a pool thread, ahead of their first call
    /// (a call meanwhile waits for the compiler's result instead of compiling again). For a core that is idle
    /// at the time only: compiling the reading loops this way as a build started measured no faster, the
    /// thread that was to call them being the one starting.
    /// </summary>
    public static void CompileAhead(params Type[] types) => CompileAhead(Marked(types));

    /// <summary>Compiles <paramref name="methods"/> on a worker, ahead of their first call (enumerated there).</summary>
    public static void CompileAhead(IEnumerable<MethodInfo> methods) => Workers.Run(() => Compile(methods));

    /// <summary>Compiles <paramref name="methods"/> on this thread; one that cannot be is compiled at its first call, as without this.</summary>
    public static void Compile(IEnumerable<MethodInfo> methods)
    {
        foreach (var method in methods)
        {
            try { RuntimeHelpers.PrepareMethod(method.MethodHandle); }
            catch (Exception) { /* then it is compiled at its first call, as without this */ }
        }
    }

    /// <summary>The methods of <paramref name="types"/> marked <see cref="Path"/> that can be compiled as they are (not generic).</summary>
    internal static IEnumerable<MethodInfo> Marked(params Type[] types) =>
        types.SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(m => (m.MethodImplementationFlags & MethodImplAttributes.AggressiveOptimization) != 0 && !m.ContainsGenericParameters && !m.IsAbstract);
}
