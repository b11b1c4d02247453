namespace Grouper.Util;

/// <summary>
/// Fault injection for the crash and disk-full tests. GROUPER_FAULT="point[@n][:action]" makes the n-th
/// (default first) passage through that point either hang after printing
/// "GROUPER-FAULT point" to standard error (so a test harness can SIGKILL the process right there) or
/// throw the IOException a full disk throws. Unset (always, outside tests), it costs one field read.
/// </summary>
internal static class Faults
{
    private static readonly (string Point, int Nth, string Action)? Spec = Parse(Environment.GetEnvironmentVariable("GROUPER_FAULT"));
    private static int _count;

    private static (string, int, string)? Parse(string? s)
    {
        if (string.IsNullOrEmpty(s)) return null;
        var action = "hang";
        int colon = s.IndexOf(':');
        if (colon >= 0) { action = s[(colon + 1)..]; s = s[..colon]; }
        int nth = 1;
        int at = s.IndexOf('@');
        if (at >= 0) { nth = int.Parse(s[(at + 1)..], System.Globalization.CultureInfo.InvariantCulture); s = s[..at]; }
        return (s, nth, action);
    }

    // Per record at some points: the test for no fault inlined, the rest out of line.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static void Hit(string point)
    {
        if (Spec is not null) HitSlow(point);
    }

    private static void HitSlow(string point)
    {
        if (Spec is not { } spec || spec.Point != point) return;
        if (Interlocked.Increment(ref _count) != spec.Nth) return;
        if (spec.Action == "enospc") throw new IOException("No space left on device", 28);
        Console.Error.WriteLine("GROUPER-FAULT " + point);
        Console.Error.Flush();
        Thread.Sleep(Timeout.Infinite);
    }
}
