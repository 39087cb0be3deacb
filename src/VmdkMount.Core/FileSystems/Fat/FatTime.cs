namespace VmdkMount.Core.FileSystems.Fat;

/// <summary>
/// DOS date/time fields as FAT and exFAT store them: date = (year-1980)&lt;&lt;9 | month&lt;&lt;5 | day,
/// time = hour&lt;&lt;11 | minute&lt;&lt;5 | seconds/2, plus an optional count of 10 ms (0..199).
/// FAT stores local time of whatever machine wrote the entry, with no zone. We present it unchanged as if it were
/// UTC (what `mtools` and the Linux vfat driver show with TZ=UTC): a backup is often browsed far from where it
/// was made, so guessing a zone would be wrong more often than right. exFAT adds a UTC offset; when it is marked
/// valid the time is converted to true UTC.
/// </summary>
internal static class FatTime
{
    /// <summary>The moment, or null for a zero or impossible date/time (month 13, 25 o'clock, ...).</summary>
    public static FsTime? FromDos(ushort date, ushort time, int tenMilliseconds = 0)
    {
        if (date == 0) return null;
        int year = 1980 + (date >> 9);
        int month = (date >> 5) & 0xF;
        int day = date & 0x1F;
        int hour = time >> 11;
        int minute = (time >> 5) & 0x3F;
        int seconds = (time & 0x1F) * 2;
        if (month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month)) return null;
        if (hour > 23 || minute > 59 || seconds > 59) return null;
        if (tenMilliseconds is < 0 or > 199) tenMilliseconds = 0;
        long unixSeconds = new DateTimeOffset(year, month, day, hour, minute, seconds, TimeSpan.Zero).ToUnixTimeSeconds();
        unixSeconds += tenMilliseconds / 100;
        return new FsTime(unixSeconds, tenMilliseconds % 100 * 10_000_000);
    }

    /// <summary>
    /// An exFAT timestamp (DOS time in bits 0-15, DOS date in bits 16-31), its 10 ms increment and its UTC offset
    /// byte (bit 7 = valid, bits 0-6 = signed count of 15-minute units).
    /// </summary>
    public static FsTime? FromExFat(uint timestamp, byte tenMilliseconds, byte utcOffset)
    {
        var local = FromDos((ushort)(timestamp >> 16), (ushort)timestamp, tenMilliseconds);
        if (local is not { } t || (utcOffset & 0x80) == 0) return local;
        int quarters = (utcOffset & 0x7F) >= 0x40 ? (utcOffset & 0x7F) - 0x80 : utcOffset & 0x7F;
        return t with { UnixSeconds = t.UnixSeconds - quarters * 15 * 60L };
    }
}
