// ItextSign signs a PDF with iText 5 (Debian libitext5-java) as an independent peer of our own
// PAdES signer: the corpus uses it to make files "already signed by someone else", and the lead
// uses its --bench mode to compare signing speed with ours on the same input and key.
//
// Usage:
//   java -cp CLASSPATH ItextSign IN.pdf OUT.pdf KEYSTORE.p12 PASSWORD [options]
// Options:
//   --field NAME     signature field name (default Signature1; must be new)
//   --reason TEXT    /Reason (default "Phê duyệt")
//   --location TEXT  /Location (default "Hà Nội")
//   --owner-pw PW    owner password of an encrypted input
//   --pkcs7          SubFilter adbe.pkcs7.detached instead of ETSI.CAdES.detached
//   --certify        certification signature, DocMDP P=2 (form filling and signing allowed)
//   --tsa CERT KEY CA  add a signature time-stamp (PAdES B-T) from LocalTsa with this TSA
//                    certificate, PKCS#8 key and CA certificate (all PEM)
//   --bench N        sign N times into memory after a warm-up and print the time per signature;
//                    OUT.pdf receives the last result.
//
// The signature is always SHA-256, detached, with an invisible widget, appended as an
// incremental update (append mode), so earlier revisions and signatures stay intact.
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
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Security;
import java.security.cert.Certificate;
import java.util.Calendar;
import java.util.TimeZone;
import org.bouncycastle.jce.provider.BouncyCastleProvider;

public final class ItextSign {
    private static String field = "Signature1";
    private static String reason = "Phê duyệt";
    private static String location = "Hà Nội";
    private static byte[] ownerPw = null;
    private static MakeSignature.CryptoStandard standard = MakeSignature.CryptoStandard.CADES;
    private static boolean certify = false;
    private static com.itextpdf.text.pdf.security.TSAClient tsa = null;

    public static void main(String[] args) throws Exception {
        if (args.length < 4) {
            System.err.println("usage: ItextSign IN.pdf OUT.pdf KEYSTORE.p12 PASSWORD [--field NAME] [--reason TEXT] "
                    + "[--location TEXT] [--owner-pw PW] [--pkcs7] [--certify] [--tsa CERT KEY CA] [--bench N]");
            System.exit(2);
        }
        int bench = 0;
        for (int i = 4; i < args.length; i++) {
            switch (args[i]) {
                case "--field": field = args[++i]; break;
                case "--reason": reason = args[++i]; break;
                case "--location": location = args[++i]; break;
                case "--owner-pw": ownerPw = args[++i].getBytes("ISO-8859-1"); break;
                case "--pkcs7": standard = MakeSignature.CryptoStandard.CMS; break;
                case "--certify": certify = true; break;
                case "--tsa": tsa = new LocalTsa(args[i + 1], args[i + 2], args[i + 3]); i += 3; break;
                case "--bench": bench = Integer.parseInt(args[++i]); break;
                default:
                    System.err.println("unknown option " + args[i]);
                    System.exit(2);
            }
        }
        Security.addProvider(new BouncyCastleProvider());
        char[] pw = args[3].toCharArray();
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (FileInputStream in = new FileInputStream(args[2])) {
            ks.load(in, pw);
        }
        String alias = ks.aliases().nextElement();
        PrivateKey key = (PrivateKey) ks.getKey(alias, pw);
        Certificate[] chain = ks.getCertificateChain(alias);
        // The JCE provider signs; BouncyCastle only hashes, as in iText's own examples.
        ExternalSignature pks = new PrivateKeySignature(key, DigestAlgorithms.SHA256, null);
        ExternalDigest digest = new BouncyCastleDigest();
        byte[] input = Files.readAllBytes(Paths.get(args[0]));

        byte[] out;
        if (bench <= 0) {
            out = sign(input, pks, digest, chain);
        } else {
            // Warm-up lets the JIT compile the hot paths, so the timing measures steady state
            // like a long-running server, not JVM start-up.
            int warm = Math.max(5, Math.min(50, bench));
            for (int i = 0; i < warm; i++) {
                sign(input, pks, digest, chain);
            }
            out = null;
            long start = System.nanoTime();
            for (int i = 0; i < bench; i++) {
                out = sign(input, pks, digest, chain);
            }
            long elapsed = System.nanoTime() - start;
            System.out.printf("itext5: %d signatures of %s (%d bytes): %.3f ms/signature%n",
                    bench, args[0], input.length, elapsed / 1e6 / bench);
        }
        try (OutputStream os = new FileOutputStream(args[1])) {
            os.write(out);
        }
    }

    private static byte[] sign(byte[] input, ExternalSignature pks, ExternalDigest digest, Certificate[] chain)
            throws Exception {
        PdfReader reader = ownerPw == null ? new PdfReader(input) : new PdfReader(input, ownerPw);
        ByteArrayOutputStream bos = new ByteArrayOutputStream(input.length + 64 * 1024);
        // '\0' keeps the PDF version; true = append mode (incremental update).
        PdfStamper stamper = PdfStamper.createSignature(reader, bos, '\0', null, true);
        PdfSignatureAppearance app = stamper.getSignatureAppearance();
        app.setReason(reason);
        app.setLocation(location);
        Calendar cal = Calendar.getInstance(TimeZone.getTimeZone("Asia/Ho_Chi_Minh"));
        app.setSignDate(cal);
        if (certify) {
            app.setCertificationLevel(PdfSignatureAppearance.CERTIFIED_FORM_FILLING);
        }
        app.setVisibleSignature(new com.itextpdf.text.Rectangle(0, 0, 0, 0), 1, field);
        MakeSignature.signDetached(app, digest, pks, chain, null, null, tsa, 0, standard);
        reader.close();
        return bos.toByteArray();
    }
}
