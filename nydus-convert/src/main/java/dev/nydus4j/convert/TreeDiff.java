package dev.nydus4j.convert;

import dev.nydus4j.api.FileType;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SortedMap;

/** Compares the source root file system with the converted image, path by path; one line per difference. */
final class TreeDiff {
    private TreeDiff() {
    }

    static List<String> diff(SortedMap<String, FsEntry> source, SortedMap<String, FsEntry> image) {
        List<String> out = new ArrayList<>();
        for (FsEntry s : source.values()) {
            FsEntry i = image.get(s.path());
            if (i == null) {
                out.add(s.path() + ": missing in the nydus image (source: " + s.type() + ")");
                continue;
            }
            compare(s, i, out);
        }
        for (String p : image.keySet()) {
            if (!source.containsKey(p)) {
                out.add(p + ": only in the nydus image (" + image.get(p).type() + ")");
            }
        }
        return out;
    }

    private static void compare(FsEntry s, FsEntry i, List<String> out) {
        String p = s.path();
        if (s.type() != i.type()) {
            out.add(p + ": type differs: source " + s.type() + ", image " + i.type());
            return;
        }
        if (s.implied()) {
            return;
        }
        if (s.mode() != i.mode()) {
            out.add(String.format("%s: mode differs: source %04o, image %04o", p, s.mode(), i.mode()));
        }
        if (s.uid() != i.uid() || s.gid() != i.gid()) {
            out.add(p + ": owner differs: source " + s.uid() + ":" + s.gid() + ", image " + i.uid() + ":" + i.gid());
        }
        if (!p.equals("/") && s.mtimeSec() != i.mtimeSec()) {
            out.add(p + ": mtime differs: source " + s.mtimeSec() + ", image " + i.mtimeSec());
        }
        if (s.type() == FileType.REGULAR) {
            if (s.size() != i.size()) {
                out.add(p + ": size differs: source " + s.size() + ", image " + i.size());
            } else if (!Objects.equals(s.sha256(), i.sha256())) {
                out.add(p + ": content differs: source sha256 " + s.sha256() + ", image sha256 " + i.sha256());
            }
            if (s.nlink() != i.nlink()) {
                out.add(p + ": link count differs: source " + s.nlink() + ", image " + i.nlink());
            }
        }
        if (!Objects.equals(s.target(), i.target())) {
            out.add(p + ": symlink target differs: source " + s.target() + ", image " + i.target());
        }
        if (s.rdev() != i.rdev()) {
            out.add(p + ": device number differs: source " + s.rdev() + ", image " + i.rdev());
        }
        if (s.xattrs() != null && i.xattrs() != null && !s.xattrs().equals(i.xattrs())) {
            out.add(p + ": xattrs differ: source " + s.xattrs().keySet() + ", image " + i.xattrs().keySet());
        }
    }
}
