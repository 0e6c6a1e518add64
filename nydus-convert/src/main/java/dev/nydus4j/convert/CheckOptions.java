package dev.nydus4j.convert;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Settings of {@code nydusify check} (API spec 5.2).
 *
 * @param source         source image to compare with, or null (manifest rules and bootstrap only)
 * @param platform       platform to check in an index
 * @param multiPlatform  expect an index holding both the source and the nydus manifest
 * @param workDir        receives the manifests, configs, bootstrap and blobs
 * @param nydusd         external nydusd binary to mount the image with, or null
 * @param mount          mount with the in-process daemon (FUSE) instead of reading through the RAFS API
 * @param blobDir        localfs directory holding the blobs ({@code --backend-type localfs}), or null
 * @param backend        oss/s3 backend holding the blobs ({@code --backend-type oss|s3}), or null
 */
public record CheckOptions(ImageLocation source, ImageLocation target, boolean sourceInsecure,
                           boolean targetInsecure, boolean plainHttp, Platform platform, boolean multiPlatform,
                           Path workDir, Path nydusd, boolean mount, Path blobDir,
                           ExternalBlobBackend backend) {
    public CheckOptions {
        Objects.requireNonNull(target, "target is null");
        Objects.requireNonNull(platform, "platform is null");
        Objects.requireNonNull(workDir, "workDir is null");
    }
}
