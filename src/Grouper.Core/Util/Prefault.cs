using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Grouper.Util;

/// <summary>
/// Large buffers whose pages are made present in one system call instead of one page fault per 4 KB page
/// on first write. On a virtual machine each fault is a trap to the hypervisor's paravirtual handler: they
/// were a fifth of the reading thread of a 100 MB build, where filling the sort buffers touches every page
/// once. Zeroing the pages, the kernel's part, is the same either way.
/// </summary>
internal static unsafe partial class Prefault
{
    private const int MadvPopulateWrite = 23;   // Linux 5.14 and later; older kernels say EINVAL, and faults stay as they were
    private static bool _unsupported = !OperatingSystem.IsLinux();

    /// <summary>A byte array on the pinned heap (it never moves, so its pages can be named), already populated.</summary>
    public static byte[] Bytes(int length)
    {
        if (_unsupported || length < 1 << 20) return new byte[length];
        var array = GC.AllocateUninitializedArray<byte>(length, pinned: true);
        Populate(Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array)), length);
        return array;
    }

    /// <summary>
    /// <see cref="Bytes"/>, and then a byte written in every page. On a virtual machine whose host backs guest
    /// memory lazily (and takes back pages the guest frees, as this project's build machine's balloon does),
    /// a populated page is still unbacked on the host until the guest first writes it, and that first write
    /// costs the host a fault: 7 µs a page here, 0.23 s for 128 MB, where writing the pages again took 5 ms.
    /// Called on a thread that would otherwise be idle, ahead of the pages' use (<c>SortBuffer</c>).
    /// </summary>
    public static byte[] TouchedBytes(int length)
    {
        var array = Bytes(length);
        ref byte first = ref MemoryMarshal.GetArrayDataReference(array);
        for (int i = 0; i < length; i += 4096) Volatile.Write(ref Unsafe.Add(ref first, i), 0);
        return array;
    }

    /// <summary>An array of unmanaged values on the pinned heap, populated.</summary>
    public static T[] Array<T>(int length) where T : unmanaged
    {
        long bytes = (long)length * sizeof(T);
        if (_unsupported || bytes < 1 << 20) return new T[length];
        var array = GC.AllocateUninitializedArray<T>(length, pinned: true);
        Populate(Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array)), bytes);
        return array;
    }

    private static void Populate(void* start, long length)
    {
        const long Page = 4096;
        long from = ((long)start + Page - 1) & ~(Page - 1);
        long to = ((long)start + length) & ~(Page - 1);
        if (to <= from) return;
        try
        {
            if (madvise((nint)from, (nuint)(to - from), MadvPopulateWrite) != 0) _unsupported = true;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            _unsupported = true;
        }
    }

    [LibraryImport("libc", SetLastError = false)]
    private static partial int madvise(nint address, nuint length, int advice);
}
