using System.Runtime.CompilerServices;

namespace Grouper.Util;

/// <summary>
/// <c>[MethodImpl(Hot.Path)]</c> marks the loops a build spends its time in (per record, per value, per
/// spill block). They are compiled fully optimised on their first call instead of climbing the runtime's
/// tiers: from ReadyToRun code (which calls, not inlines, span and list members of other assemblies)
/// through a profiling tier whose block counters call into the runtime on every pass. A 1 GB build spent
/// its first seconds of each phase there, and the tiering compiler's thread shares two cores with the
/// build's own two threads. Only loops that call nothing virtual are marked, and no small method that a
/// caller reaches through an interface or an override: a method so compiled is not inlined, and the
/// callers' profile-guided devirtualisation inlines such callees (marking the row encoder, the key
/// extractor, the JSON parser or the sort buffer's cursor made builds slower).
/// </summary>
internal static class Hot
{
    public const MethodImplOptions Path = MethodImplOptions.AggressiveOptimization;
}
