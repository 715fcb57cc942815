// ItextSignMany signs a list of PDFs with iText 5 in one JVM, the way a warm signing service
// would, for scripts/bench-cli.sh to set next to `vanban pdf sign` run once per file. The
// signature is the one testdata/gen/java/ItextSign.java makes: SHA-256, ETSI.CAdES.detached,
// invisible, appended, B-B, the key from a PKCS#12 file loaded once.
//
// Usage:
//   java -cp CLASSPATH ItextSignMany KEYSTORE.p12 PASSWORD OUTDIR WARMUP ROUNDS IN.pdf...
//
// WARMUP rounds sign every file into memory so the JIT has compiled the hot paths; then each of
// ROUNDS rounds reads every file from disk, signs it and writes OUTDIR/NAME, and prints the
// round's wall time: "itext5 round R: N files in T ms".
import com.itextpdf.text.pdf.PdfReader;
import com.itextpdf.text.pdf.PdfSignatureAppearance;
import com.itextpdf.text.pdf.PdfStamper;
import com.itextpdf.text.pdf.security.BouncyCastleDigest;
import com.itextpdf.text.pdf.security.DigestAlgorithms;
import com.itextpdf.text.pdf.security.ExternalDigest;
import com.itextpdf.text.pdf.security.ExternalSignature;
import com.itextpdf.text.pdf.security.MakeSignature;
import com.itextpdf.text.pdf.security.PrivateKeySignature;
import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Security;
import java.security.cert.Certificate;
import java.util.Calendar;
import java.util.TimeZone;
import org.bouncycastle.jce.provider.BouncyCastleProvider;

public final class ItextSignMany {
    public static void main(String[] args) throws Exception {
        if (args.length < 6) {
            System.err.println("usage: ItextSignMany KEYSTORE.p12 PASSWORD OUTDIR WARMUP ROUNDS IN.pdf...");
            System.exit(2);
        }
        Security.addProvider(new BouncyCastleProvider());
        char[] pw = args[1].toCharArray();
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (FileInputStream in = new FileInputStream(args[0])) {
            ks.load(in, pw);
        }
        String alias = ks.aliases().nextElement();
        PrivateKey key = (PrivateKey) ks.getKey(alias, pw);
        Certificate[] chain = ks.getCertificateChain(alias);
        ExternalSignature pks = new PrivateKeySignature(key, DigestAlgorithms.SHA256, null);
        ExternalDigest digest = new BouncyCastleDigest();
        Path outDir = Paths.get(args[2]);
        int warm = Integer.parseInt(args[3]);
        int rounds = Integer.parseInt(args[4]);
        int n = args.length - 5;
        Path[] files = new Path[n];
        for (int i = 0; i < n; i++) {
            files[i] = Paths.get(args[5 + i]);
        }
        for (int r = 0; r < warm; r++) {
            for (Path f : files) {
                sign(Files.readAllBytes(f), pks, digest, chain);
            }
        }
        for (int r = 1; r <= rounds; r++) {
            long start = System.nanoTime();
            for (Path f : files) {
                byte[] out = sign(Files.readAllBytes(f), pks, digest, chain);
                Files.write(outDir.resolve(f.getFileName()), out);
            }
            long elapsed = System.nanoTime() - start;
            System.out.printf("itext5 round %d: %d files in %.1f ms%n", r, n, elapsed / 1e6);
        }
    }

    private static byte[] sign(byte[] input, ExternalSignature pks, ExternalDigest digest, Certificate[] chain)
            throws Exception {
        PdfReader reader = new PdfReader(input);
        ByteArrayOutputStream bos = new ByteArrayOutputStream(input.length + 64 * 1024);
        // '\0' keeps the PDF version; true = append mode (incremental update).
        PdfStamper stamper = PdfStamper.createSignature(reader, bos, '\0', null, true);
        PdfSignatureAppearance app = stamper.getSignatureAppearance();
        app.setReason("Phê duyệt");
        app.setLocation("Hà Nội");
        app.setSignDate(Calendar.getInstance(TimeZone.getTimeZone("Asia/Ho_Chi_Minh")));
        // A field name no corpus file uses, so files already signed take one more signature.
        app.setVisibleSignature(new com.itextpdf.text.Rectangle(0, 0, 0, 0), 1, "BenchSignature");
        MakeSignature.signDetached(app, digest, pks, chain, null, null, null, 0, MakeSignature.CryptoStandard.CADES);
        reader.close();
        return bos.toByteArray();
    }
}
