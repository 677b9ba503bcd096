#!/usr/bin/env bash
# Builds the Debian packages into dist/ (or $1):
#   enrolld_VERSION_amd64.deb             the daemon, enrollctl, enroll-kiosk (Swift runtime linked statically),
#                                         systemd units, sysusers/tmpfiles entries, udev and modprobe files,
#                                         polkit rule, default configuration, man pages
#   enrolld-bench_VERSION_amd64.deb       the test tools, kept out of production machines: enroll-vcard (a virtual
#                                         card through vpcd, test PKIs) and enroll-bench, the card profiles
#   enrolld-face-models_VERSION_all.deb   dlib's face model files and the MiniFASNet presentation-attack models for
#                                         offline kiosks (skipped with a note when the files are not installed:
#                                         scripts/install-models.sh)
# Needs dpkg-dev (dpkg-shlibdeps) and the build dependencies of scripts/setup.sh. No debhelper: the
# maintainer scripts in Packaging/deb do what dh_installsystemd would.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${1:-$root/dist}
mkdir -p "$out"
out=$(cd "$out" && pwd)

version=$(sed -n 's/^public let enrolldVersion = "\(.*\)"$/\1/p' Sources/DaemonCore/Daemon.swift)
[ -n "$version" ] || { echo "build-deb: cannot find enrolldVersion" >&2; exit 1; }
models_version=0.3.0+minifasnet1
model_files=(dlib_face_recognition_resnet_model_v1.dat shape_predictor_5_face_landmarks.dat MiniFASNetV2.onnx
             MiniFASNetV1SE.onnx)
model_dir=${ENROLLD_MODEL_DIR:-/var/lib/enrolld/models}

# 1. Release binaries with the Swift runtime and Foundation linked in (only the products shipped).
daemon_products=(enrolld enrollctl enroll-kiosk)
bench_products=(enroll-vcard enroll-bench enroll-verifier)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
started=$(date +%s)
for product in "${daemon_products[@]}" "${bench_products[@]}"; do
    if ! swift build -c release --static-swift-stdlib --product "$product" > "$work/build.log" 2>&1; then
        grep -E "error" "$work/build.log" >&2 || tail -20 "$work/build.log" >&2
        echo "build-deb: swift build of $product failed" >&2
        exit 1
    fi
done
bin=$(swift build -c release --static-swift-stdlib --show-bin-path)
echo "build-deb: release build of ${daemon_products[*]} ${bench_products[*]} took $(( $(date +%s) - started )) s"
umask 022

# 2. The file tree of package enrolld.
pkg=$work/enrolld
install -d "$pkg/DEBIAN" "$pkg/usr/sbin" "$pkg/usr/bin" "$pkg/lib/systemd/system" "$pkg/lib/udev/rules.d" \
    "$pkg/lib/modprobe.d" "$pkg/usr/lib/sysusers.d" "$pkg/usr/lib/tmpfiles.d" "$pkg/usr/share/polkit-1/rules.d" \
    "$pkg/etc/enrolld" "$pkg/usr/share/doc/enrolld" "$pkg/usr/share/man/man1" "$pkg/usr/share/man/man5" \
    "$pkg/usr/share/man/man8" "$pkg/etc/nginx/sites-available"
install -m 0755 "$bin/enrolld" "$pkg/usr/sbin/enrolld"
install -m 0755 "$bin/enrollctl" "$bin/enroll-kiosk" "$pkg/usr/bin/"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$pkg/usr/sbin/enrolld" \
    "$pkg/usr/bin/enrollctl" "$pkg/usr/bin/enroll-kiosk"
install -m 0644 Packaging/enrolld.service Packaging/enrolld.socket Packaging/enroll-kiosk.service \
    Packaging/enroll-counter.service "$pkg/lib/systemd/system/"
# The web apps of enroll-kiosk (plain files, no build step) and the kiosk browser samples.
(cd web && find . -type f | LC_ALL=C sort) | while read -r file; do
    install -D -m 0644 "web/$file" "$pkg/usr/share/enroll-kiosk/web/$file"
done
# Message templates of the outbox ([outbox] templates_directory), one directory per language.
for file in Packaging/messages/*/*.txt; do
    install -D -m 0644 "$file" "$pkg/usr/share/enrolld/messages/${file#Packaging/messages/}"
done
install -d "$pkg/usr/share/doc/enrolld/examples"
install -m 0644 Packaging/enroll-kiosk-browser Packaging/enroll-kiosk-policy.json "$pkg/usr/share/doc/enrolld/examples/"
install -m 0644 udev/60-enrolld-readers.rules "$pkg/lib/udev/rules.d/"
install -m 0644 udev/enrolld-blacklist-pn533.conf "$pkg/lib/modprobe.d/"
install -m 0644 Packaging/enrolld.sysusers "$pkg/usr/lib/sysusers.d/enrolld.conf"
install -m 0644 Packaging/enrolld.tmpfiles "$pkg/usr/lib/tmpfiles.d/enrolld.conf"
install -m 0644 Packaging/50-enrolld-pcscd.rules "$pkg/usr/share/polkit-1/rules.d/"
install -m 0644 Packaging/enrolld.conf "$pkg/etc/enrolld/enrolld.conf"
install -m 0644 Packaging/enrolld-nginx.conf "$pkg/etc/nginx/sites-available/enrolld"
install -m 0644 Packaging/deb/copyright "$pkg/usr/share/doc/enrolld/copyright"
install -m 0644 README.md "$pkg/usr/share/doc/enrolld/README.md"
for page in enrollctl.1 enrolld.8; do
    gzip -9n < "docs/$page" > "$pkg/usr/share/man/man${page##*.}/$page.gz"
done
# enrolld.conf(5) is generated from the commented default configuration, so it lists every key.
python3 docs/enrolld.conf.5.py Packaging/enrolld.conf "$version" | gzip -9n > "$pkg/usr/share/man/man5/enrolld.conf.5.gz"
changelog() {
    printf '%s (%s) unstable; urgency=medium\n\n  * %s\n\n -- enrolld maintainers <enrolld@example.org>  %s\n' \
        "$1" "$2" "$3" "$(date -R -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")"
}
changelog enrolld "$version" "Release $version." | gzip -9n > "$pkg/usr/share/doc/enrolld/changelog.gz"
install -m 0755 Packaging/deb/postinst Packaging/deb/prerm Packaging/deb/postrm "$pkg/DEBIAN/"
printf '%s\n' /etc/enrolld/enrolld.conf /etc/nginx/sites-available/enrolld > "$pkg/DEBIAN/conffiles"

# Library dependencies from the binaries (dpkg-shlibdeps wants a debian/control beside it), plus the
# run-time pieces the binaries do not link: pcscd itself and an optimised BLAS for dlib.
mkdir -p "$work/shlibs/debian"
printf 'Source: enrolld\n\nPackage: enrolld\nArchitecture: amd64\n' > "$work/shlibs/debian/control"
shlibs_of() { (cd "$work/shlibs" && dpkg-shlibdeps -O "$@" 2>/dev/null | sed -n 's/^shlibs:Depends=//p'); }
# Sorted, each package once.
unique() { echo "$1" | tr ',' '\n' | sed 's/^ *//; s/ *$//' | awk 'NF && !seen[$1]++' | paste -sd, | sed 's/,/, /g'; }
shlibs=$(shlibs_of "$pkg/usr/sbin/enrolld" "$pkg/usr/bin/enrollctl" "$pkg/usr/bin/enroll-kiosk")
depends=$(unique "${shlibs}, pcscd, libpcsclite1, libssl3, libsqlite3-0, libdlib19.1, libopenjp2-7, libopenblas0, libqrencode4")

(cd "$pkg" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | LC_ALL=C sort \
    | xargs md5sum > DEBIAN/md5sums)
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@INSTALLED_SIZE@/$size/" -e "s/@DEPENDS@/$depends/" \
    Packaging/deb/control.in > "$pkg/DEBIAN/control"
dpkg-deb --root-owner-group -Zgzip -z6 --build "$pkg" "$out/enrolld_${version}_amd64.deb" >/dev/null
echo "build-deb: $out/enrolld_${version}_amd64.deb"

# 3. The test tools, in a package of their own: a production kiosk installs enrolld only. enroll-bench's load
# bench runs the installed daemon (`--enrolld /usr/sbin/enrolld`), hence the exact version.
bench=$work/bench
install -d "$bench/DEBIAN" "$bench/usr/bin" "$bench/usr/share/man/man1" "$bench/usr/share/doc/enrolld-bench" \
    "$bench/usr/share/enrolld-bench/profiles"
for product in "${bench_products[@]}"; do install -m 0755 "$bin/$product" "$bench/usr/bin/"; done
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$bench/usr/bin/enroll-vcard" \
    "$bench/usr/bin/enroll-bench" "$bench/usr/bin/enroll-verifier"
install -m 0644 scripts/profiles/*.json "$bench/usr/share/enrolld-bench/profiles/"
gzip -9n < docs/enroll-vcard.1 > "$bench/usr/share/man/man1/enroll-vcard.1.gz"
gzip -9n < docs/enroll-bench.1 > "$bench/usr/share/man/man1/enroll-bench.1.gz"
install -m 0644 Packaging/deb/copyright "$bench/usr/share/doc/enrolld-bench/copyright"
changelog enrolld-bench "$version" "Release $version: enroll-vcard, enroll-bench and enroll-verifier, out of the daemon's package." \
    | gzip -9n > "$bench/usr/share/doc/enrolld-bench/changelog.gz"
# enroll-verifier reads QR codes with zbarimg (zbar-tools).
bench_depends=$(unique "$(shlibs_of "$bench/usr/bin/enroll-vcard" "$bench/usr/bin/enroll-bench" "$bench/usr/bin/enroll-verifier"), enrolld (= $version), pcscd, vsmartcard-vpcd, zbar-tools")
(cd "$bench" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | LC_ALL=C sort \
    | xargs md5sum > DEBIAN/md5sums)
size=$(du -sk --exclude=DEBIAN "$bench" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@INSTALLED_SIZE@/$size/" -e "s/@DEPENDS@/$bench_depends/" \
    Packaging/deb/bench-control.in > "$bench/DEBIAN/control"
dpkg-deb --root-owner-group -Zgzip -z6 --build "$bench" "$out/enrolld-bench_${version}_amd64.deb" >/dev/null
echo "build-deb: $out/enrolld-bench_${version}_amd64.deb"

# 4. The architecture-independent model package.
have_models=1
for file in "${model_files[@]}"; do [ -f "$model_dir/$file" ] || have_models=0; done
if [ "$have_models" -eq 1 ]; then
    models=$work/models
    install -d "$models/DEBIAN" "$models/usr/share/enrolld/models" "$models/usr/share/doc/enrolld-face-models"
    for file in "${model_files[@]}"; do install -m 0644 "$model_dir/$file" "$models/usr/share/enrolld/models/"; done
    install -m 0644 Packaging/deb/models-copyright "$models/usr/share/doc/enrolld-face-models/copyright"
    changelog enrolld-face-models "$models_version" "face_recognition_models 0.3.0 and MiniFASNet model files." \
        | gzip -9n > "$models/usr/share/doc/enrolld-face-models/changelog.gz"
    (cd "$models" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | LC_ALL=C sort \
        | xargs md5sum > DEBIAN/md5sums)
    size=$(du -sk --exclude=DEBIAN "$models" | cut -f1)
    sed -e "s/@VERSION@/$models_version/" -e "s/@INSTALLED_SIZE@/$size/" Packaging/deb/models-control.in \
        > "$models/DEBIAN/control"
    dpkg-deb --root-owner-group -Zgzip -z6 --build "$models" "$out/enrolld-face-models_${models_version}_all.deb" >/dev/null
    echo "build-deb: $out/enrolld-face-models_${models_version}_all.deb"
else
    echo "build-deb: no model files in $model_dir (scripts/install-models.sh): enrolld-face-models not built"
fi
