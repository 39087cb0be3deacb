using System.CommandLine;

namespace VmdkMount.Cli;

/// <summary>Two or three real uses of each command, shown at the end of its description in `--help`.</summary>
internal static class CommandExamples
{
    private static readonly Dictionary<string, string[]> Examples = new()
    {
        ["info"] =
        [
            "vmdkmount info /backups/vm1/disk-000042.vmdk          # the chain: links, CIDs, extents, allocated bytes",
            "vmdkmount info /backups/vm1/disk-000042.vmdk --json | jq '.chain[].file'",
        ],
        ["check"] =
        [
            "vmdkmount check /backups/vm1/disk-000042.vmdk         # exit 0 clean, 1 problems found",
            "vmdkmount check nbd://backup-proxy/vm1 --json > report.json",
        ],
        ["map"] =
        [
            "vmdkmount map /backups/vm1/disk-000042.vmdk           # which link holds each allocated range",
            "vmdkmount map /backups/vm1/disk-000042.vmdk --json | jq '.allocatedBytes'",
        ],
        ["export"] =
        [
            "vmdkmount export /backups/vm1/disk-000042.vmdk /restore/vm1.raw",
            "vmdkmount export nbds://proxy/vm1 vm1.raw --thumbprint AB:CD:...   # an NBD export over TLS",
        ],
        ["volumes"] =
        [
            "vmdkmount volumes /backups/vm1/disk-000042.vmdk",
            "vmdkmount volumes /backups/vm1/disk1-000042.vmdk /backups/vm1/disk2-000042.vmdk   # both disks of a VM",
            "vmdkmount volumes nbd://backup-proxy:10809/vm1 --json",
        ],
        ["ls"] =
        [
            "vmdkmount ls /backups/vm1/disk-000042.vmdk            # no path: the volumes",
            "vmdkmount ls /backups/vm1/disk-000042.vmdk p2:/Users/alice/Documents -l",
            "vmdkmount ls /backups/vm1/disk-000042.vmdk p2 -R --json > tree.json",
        ],
        ["cat"] =
        [
            "vmdkmount cat /backups/vm1/disk-000042.vmdk p2:/Windows/System32/drivers/etc/hosts",
            "vmdkmount cat /backups/vm1/disk-000042.vmdk p2:/Users/alice/report.docx:Zone.Identifier   # a named stream",
        ],
        ["extract"] =
        [
            "vmdkmount extract /backups/vm1/disk-000042.vmdk p2:/Users/alice/Documents/invoice.xlsx /tmp/restore/",
            "vmdkmount extract /backups/vm1/disk-000042.vmdk p3:/etc /tmp/restore/etc -q",
        ],
        ["find"] =
        [
            "vmdkmount find /backups/vm1/disk-000042.vmdk --iname 'invoice*.xlsx'",
            "vmdkmount find /backups/vm1/disk-000042.vmdk p2:/Users --newer 7d --type f --size +1M",
            "vmdkmount find /backups/vm1/disk-000042.vmdk --name '*.docx' -0 | xargs -0 -n1 echo",
        ],
        ["changed"] =
        [
            "vmdkmount changed /backups/vm1/disk-000042.vmdk --since disk-000041.vmdk    # A/D/M per path",
            "vmdkmount changed /backups/vm1/disk-000042.vmdk --since 5 --volume p2 --json",
            "vmdkmount changed /backups/vm1/disk-000042.vmdk --since disk-000041.vmdk -0 | xargs -0 printf '%s\\n'",
        ],
        ["versions"] =
        [
            "vmdkmount versions /backups/vm1/disk-000042.vmdk p2:/Users/alice/Documents/invoice.xlsx",
            "vmdkmount versions /backups/vm1/disk-000042.vmdk p2:/etc/hosts --hash --json",
            "vmdkmount cat /backups/vm1/disk-000042.vmdk p2:/etc/hosts --at disk-000037.vmdk   # then that version",
        ],
        ["mount"] =
        [
            "vmdkmount mount /backups/vm1/disk-000042.vmdk /mnt/restore && ls /mnt/restore/p2",
            "vmdkmount mount /backups/vm1/disk-000042.vmdk /mnt/restore --volume p2 --allow-other",
            "vmdkmount mount nbd://backup-proxy/vm1 /mnt/vm1 --cache-size 512M",
        ],
        ["unmount"] =
        [
            "vmdkmount unmount /mnt/restore",
            "vmdkmount unmount /mnt/restore --lazy   # while a shell still sits in it",
        ],
        ["cleanup"] =
        [
            "vmdkmount cleanup                        # after a crash or a reboot: forget mounts nobody serves",
            "vmdkmount cleanup --state-dir /run/vmdkmount-test",
        ],
    };

    /// <summary>Appends the examples to the description of every subcommand that has some.</summary>
    public static void AddTo(RootCommand root)
    {
        foreach (var command in root.Subcommands)
            if (Examples.TryGetValue(command.Name, out var examples))
                command.Description += "\n\nExamples:\n" + string.Join("\n", examples.Select(e => "  " + e));
    }

    /// <summary>The commands that have examples (the tests check every subcommand is among them).</summary>
    public static IEnumerable<string> Commands => Examples.Keys;
}
