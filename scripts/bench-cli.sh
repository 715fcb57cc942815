#!/usr/bin/env bash
# bench-cli.sh measures `vanban pdf sign` and `vanban pdf verify` the way an operator or a
# script meets them: one process per file, a PKCS#12 key file, PAdES B-B, timed from outside
# (/usr/bin/time for the peak RSS), next to iText 5 in one warm JVM and `openssl dgst -sha256`
# in the same run. The README's "Command-line signing" table comes from one run of it.
#
#   scripts/bench-cli.sh [ROUNDS]        (from the repository root; ROUNDS defaults to 5)
#
# With VANBAN_BENCH_BASELINE=/path/to/an/older/vanban the same runs are made with that binary
# too, in the same rounds, so a change can be judged against its parent on a noisy machine.
#
# Needs: go, java + javac (default-jdk-headless), libitext5-java libbcprov-java libbcpkix-java
# libbcutil-java, qpdf, soffice (LibreOffice writer), openssl, GNU time (/usr/bin/time).
#
# 1. 22 small files from the corpus (LibreOffice, Chromium, Ghostscript, pdfTeX, qpdf, iText,
#    PDFBox, our hybrid-xref generator; the two certified forms are left out because their
#    DocMDP P=2 lets only existing empty fields be signed, and we refuse what iText does
#    anyway; the AES files because iText 5 cannot sign them without the owner password).
#    Each round signs all 22: vanban as 22 processes started by this shell and as one
#    process (`--out-dir`), iText as 22 signatures in a JVM warmed up by 20 rounds first.
# 2. A ~250 MB file of ~60,000 pages built from a real document: a 346-page manual LibreOffice
#    writes from generated Vietnamese text (fonts embedded, xref table), then 170 copies of it
#    joined by `qpdf --empty --pages ... --object-streams=generate` (object streams, a
#    cross-reference stream, ~120,000 objects). Signed and verified ROUNDS times each, with
#    `openssl dgst -sha256` of the same file before every run. Building it takes a few
#    minutes; it is kept in $VANBAN_BENCH_DIR (default /tmp/vanban-bench-cli) for reruns.
set -euo pipefail

rounds=${1:-5}
root=$(pwd)
[[ -f go.mod && -d cmd/vanban ]] || { echo "run from the repository root" >&2; exit 2; }
work=${VANBAN_BENCH_DIR:-/tmp/vanban-bench-cli}
mkdir -p "$work/out" "$work/out-many" "$work/itext-out" "$work/classes"
corpus=$root/testdata/corpus
p12=$corpus/pki/signer.p12
export VANBAN_BENCH_P12_PASS=test
signer="file:$p12?pass-env=VANBAN_BENCH_P12_PASS"
cp=/usr/share/java/itext5.jar:/usr/share/java/bcprov.jar:/usr/share/java/bcpkix.jar:/usr/share/java/bcutil.jar
timefmt="%e s elapsed, %U s user, %S s sys, %M KB peak RSS"

echo "== build"
go build -o "$work/vanban.build" ./cmd/vanban
# Installed by copying, as a deployment would: the peak RSS counts the pages of the executable
# that are mapped, and on this kernel a file written by the linker sits in the page cache in
# other folio sizes than a copy (vanban version: 48 MB against 30 MB for the same bytes).
cp "$work/vanban.build" "$work/vanban"
if [[ -n ${VANBAN_BENCH_BASELINE:-} ]]; then
  cp "$VANBAN_BENCH_BASELINE" "$work/vanban-baseline"
  VANBAN_BENCH_BASELINE=$work/vanban-baseline
fi
javac -encoding UTF-8 -nowarn -d "$work/classes" -cp "$cp" scripts/bench-cli/ItextSignMany.java
vanban=$work/vanban
baseline=${VANBAN_BENCH_BASELINE:-}
echo "$(go version), $(java -version 2>&1 | head -1), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"

small=(
  chromium ghostscript hybrid itext-blta itext-incremental itext-multirevision itext-signed-bt
  itext-signed-hybrid itext-signed-objstm itext-signed-then-annotated itext-signed libreoffice-form
  libreoffice-pdfa2b libreoffice-writer pdfbox-signed pdftex qpdf-linearized qpdf-objstm
  two-signatures
)
files=()
for f in "${small[@]}"; do files+=("$corpus/$f.pdf"); done
files+=("$root/testdata/decree30/quyet-dinh-phu-luc.pdf" "$root/testdata/decree30/quyet-dinh-ubnd.pdf"
  "$root/cmd/vanban/demo-quyet-dinh.pdf")
echo "== 1. ${#files[@]} small files ($(cat "${files[@]}" | wc -c) bytes in all), $rounds rounds"

ms() { echo $(( $(date +%s%N) / 1000000 )); }
# One warm-up round fills the page cache with the binary and the files.
for f in "${files[@]}"; do "$vanban" pdf sign --in "$f" --out "$work/out/$(basename "$f")" --signer "$signer"; done
for r in $(seq "$rounds"); do
  start=$(ms)
  for f in "${files[@]}"; do
    "$vanban" pdf sign --in "$f" --out "$work/out/$(basename "$f")" --signer "$signer"
  done
  echo "vanban round $r: ${#files[@]} processes in $(( $(ms) - start )) ms"
  start=$(ms)
  "$vanban" pdf sign --signer "$signer" --out-dir "$work/out-many" "${files[@]}"
  echo "vanban round $r: ${#files[@]} files in one process (--out-dir) in $(( $(ms) - start )) ms"
  if [[ -n $baseline ]]; then
    start=$(ms)
    for f in "${files[@]}"; do
      "$baseline" pdf sign --in "$f" --out "$work/out/$(basename "$f")" --signer "$signer"
    done
    echo "baseline round $r: ${#files[@]} processes in $(( $(ms) - start )) ms"
  fi
done
java -XX:+UseSerialGC -cp "$work/classes:$cp" ItextSignMany "$p12" test "$work/itext-out" 20 "$rounds" "${files[@]}"
one=${files[0]}
echo "one process, $(basename "$one"): $( { /usr/bin/time -f "$timefmt" "$vanban" pdf sign --in "$one" --out "$work/out/one.pdf" --signer "$signer"; } 2>&1 )"

echo "== 2. large file"
big=$work/big.pdf
if [[ ! -f $big ]]; then
  man=$work/manual
  mkdir -p "$man"
  # 300 chapters of 12 paragraphs of words drawn by a fixed LCG: the same text every time.
  awk 'BEGIN {
    n = split("văn bản quyết định ủy ban nhân dân tỉnh thành phố cơ quan hành chính nhà nước chữ ký số điều khoản thi hành trách nhiệm báo cáo hướng dẫn sử dụng hệ thống quản lý tài liệu lưu trữ phê duyệt ban hành công văn đến đi sổ đăng ký người ký chức vụ", w, " ")
    s = 17
    for (ch = 1; ch <= 300; ch++) {
      printf "Chương %d. Hướng dẫn sử dụng phần %d\n\n", ch, ch
      for (p = 0; p < 12; p++) {
        s = (s * 1103515245 + 12345) % 2147483648; k = 40 + s % 81; line = ""
        for (i = 0; i < k; i++) { s = (s * 1103515245 + 12345) % 2147483648; line = line (i ? " " : "") w[1 + s % n] }
        print line ".\n"
      }
    }
  }' > "$man/manual.txt"
  (cd "$man" && soffice --headless --convert-to pdf manual.txt >/dev/null 2>&1)
  args=()
  # qpdf copies a file's pages once per distinct file name: links make 170 copies.
  for i in $(seq 170); do ln -sf manual.pdf "$man/m$i.pdf"; args+=("$man/m$i.pdf"); done
  qpdf --empty --object-streams=generate --pages "${args[@]}" -- "$big.tmp"
  mv "$big.tmp" "$big"
fi
echo "$(basename "$big"): $(stat -c %s "$big") bytes, $(qpdf --show-npages "$big") pages, $(tail -c 1048576 "$big" | grep -ao '/Size [0-9]*' | tail -1) objects"
cat "$big" > /dev/null
for r in $(seq "$rounds"); do
  rm -f "$work/big-signed.pdf"
  sync
  echo "round $r"
  echo "  openssl dgst -sha256:  $( { /usr/bin/time -f "$timefmt" openssl dgst -sha256 "$big" >/dev/null; } 2>&1 )"
  echo "  vanban pdf sign:       $( { /usr/bin/time -f "$timefmt" "$vanban" pdf sign --in "$big" --out "$work/big-signed.pdf" --signer "$signer"; } 2>&1 )"
  echo "  openssl dgst -sha256:  $( { /usr/bin/time -f "$timefmt" openssl dgst -sha256 "$work/big-signed.pdf" >/dev/null; } 2>&1 )"
  echo "  vanban pdf verify:     $( { /usr/bin/time -f "$timefmt" "$vanban" pdf verify --in "$work/big-signed.pdf" --trust "$corpus/pki/ca.pem" >"$work/verify.txt"; } 2>&1 ) — $(tail -1 "$work/verify.txt")"
  if [[ -n $baseline ]]; then
    rm -f "$work/big-signed-baseline.pdf"
    sync
    echo "  baseline pdf sign:     $( { /usr/bin/time -f "$timefmt" "$baseline" pdf sign --in "$big" --out "$work/big-signed-baseline.pdf" --signer "$signer"; } 2>&1 )"
    echo "  baseline pdf verify:   $( { /usr/bin/time -f "$timefmt" "$baseline" pdf verify --in "$work/big-signed.pdf" --trust "$corpus/pki/ca.pem" >/dev/null; } 2>&1 )"
  fi
done
