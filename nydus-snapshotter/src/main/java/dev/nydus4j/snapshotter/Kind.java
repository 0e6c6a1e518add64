package dev.nydus4j.snapshotter;

/** Snapshot kinds as containerd knows them (its UNKNOWN is never stored). */
enum Kind { VIEW, ACTIVE, COMMITTED }
