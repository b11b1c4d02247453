namespace Grouper.Schema;

/// <summary>How a column a user names is found among a source's or a dataset's columns.</summary>
internal static class ColumnNames
{
    /// <summary>
    /// The position of <paramref name="name"/> among <paramref name="count"/> columns named by <paramref name="nameAt"/>:
    /// the exact name first, else the one column whose name differs only in case, as PowerShell matches property
    /// names; -1 when there is none. When several differ only in case, -1 too, and <paramref name="twins"/> holds
    /// the first two (only the exact name tells them apart).
    /// </summary>
    public static int Find(int count, Func<int, string> nameAt, string name, out (int, int)? twins)
    {
        twins = null;
        int found = -1;
        for (int i = 0; i < count; i++) if (nameAt(i) == name) return i;
        for (int i = 0; i < count; i++)
        {
            if (!string.Equals(nameAt(i), name, StringComparison.OrdinalIgnoreCase)) continue;
            if (found >= 0) { twins = (found, i); return -1; }
            found = i;
        }
        return found;
    }
}
