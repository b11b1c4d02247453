using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Grouper.Util;
using Xunit;

namespace Grouper.Tests.Writer;

public unsafe class PrefaultTests
{
    [DllImport("libc", SetLastError = true)]
    private static extern int mincore(nint address, nuint length, byte* residency);

    /// <summary>How many of the array's whole pages are in memory, by the kernel's own account.</summary>
    private static (int Resident, int Pages) Residency<T>(T[] array) where T : unmanaged =>
        Residency((long)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array)), (long)array.Length * sizeof(T));

    /// <summary>How many of the whole pages in these bytes are in memory, by the kernel's own account.</summary>
    private static (int Resident, int Pages) Residency(long start, long length)
    {
        const long Page = 4096;
        long from = (start + Page - 1) & ~(Page - 1), to = (start + length) & ~(Page - 1);
        int pages = (int)((to - from) / Page);
        var map = new byte[pages];
        fixed (byte* m = map)
            Assert.Equal(0, mincore((nint)from, (nuint)(to - from), m));
        return (map.Count(b => (b & 1) != 0), pages);
    }

    [Fact]
    public void Large_buffers_come_with_their_pages_present_and_hold_what_is_written()
    {
        if (!OperatingSystem.IsLinux()) return;
        // The control: fresh memory from the system has (nearly) no page in memory yet, so the count below
        // measures populating. (Not a fresh managed array: with other tests' builds collecting in the same
        // process, the heap may hand back memory whose pages are still there.)
        nuint size = 48 << 20;
        var fresh = NativeMemory.Alloc(size);
        try
        {
            var (freshResident, freshPages) = Residency((long)fresh, (long)size);
            Assert.True(freshResident < freshPages / 4, $"{freshResident} of {freshPages} pages of fresh memory are resident");
        }
        finally
        {
            NativeMemory.Free(fresh);
        }

        var bytes = Prefault.Bytes(48 << 20);
        var (resident, pages) = Residency(bytes);
        Assert.Equal(pages, resident);
        var entries = Prefault.Array<(long, long)>(3 << 20);
        Assert.Equal(Residency(entries).Pages, Residency(entries).Resident);

        Assert.Equal(48 << 20, bytes.Length);
        Assert.Equal(3 << 20, entries.Length);
        bytes.AsSpan().Fill(0xA5);
        Assert.True(bytes.AsSpan().IndexOfAnyExcept((byte)0xA5) < 0);
        // Small buffers are ordinary arrays.
        Assert.Equal(4096, Prefault.Bytes(4096).Length);
    }
}
