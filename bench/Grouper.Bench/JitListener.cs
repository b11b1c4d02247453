using System.Diagnostics;
using System.Globalization;

/// <summary>With GROUPER_BENCH_JIT=1: every method the JIT compiles, when, at which tier and how long it took (from its
/// compilation start event on), to see what keeps tiering busy and what it compiles too late to matter. The first time is
/// when the event reached this listener (events arrive in batches); the second when the compilation started, both from
/// Main's start, and the thread that compiled.</summary>
sealed class JitListener(Stopwatch sw) : System.Diagnostics.Tracing.EventListener
{
    private readonly DateTime _origin = DateTime.UtcNow - sw.Elapsed;

    protected override void OnEventSourceCreated(System.Diagnostics.Tracing.EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
            EnableEvents(source, System.Diagnostics.Tracing.EventLevel.Verbose, (System.Diagnostics.Tracing.EventKeywords)0x10);
    }
    private readonly Dictionary<ulong, DateTime> _started = new();
    protected override void OnEventWritten(System.Diagnostics.Tracing.EventWrittenEventArgs e)
    {
        if (e.Payload is null) return;
        if (e.EventName == "MethodJittingStarted_V1")
        {
            lock (_started) _started[Convert.ToUInt64(e.Payload[e.PayloadNames!.IndexOf("MethodID")], CultureInfo.InvariantCulture)] = e.TimeStamp;
            return;
        }
        if (e.EventName != "MethodLoadVerbose_V2") return;
        var id = Convert.ToUInt64(e.Payload[e.PayloadNames!.IndexOf("MethodID")], CultureInfo.InvariantCulture);
        double ms = -1, at = -1;
        lock (_started) if (_started.Remove(id, out var t0)) { ms = (e.TimeStamp - t0).TotalMilliseconds; at = (t0.ToUniversalTime() - _origin).TotalSeconds; }
        var flags = Convert.ToUInt32(e.Payload[e.PayloadNames!.IndexOf("MethodFlags")], CultureInfo.InvariantCulture);
        Console.Error.WriteLine(FormattableString.Invariant($"JIT {sw.Elapsed.TotalSeconds:F3} {at:F3} t{e.OSThreadId} {ms:F2}ms tier={(flags >> 7) & 7} {e.Payload[e.PayloadNames.IndexOf("MethodNamespace")]}::{e.Payload[e.PayloadNames.IndexOf("MethodName")]}"));
    }
}
