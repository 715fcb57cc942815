// ItextVerify checks every signature of a PDF with iText 5 and BouncyCastle, as an independent
// validator whose CMS code (BouncyCastle) differs from poppler's (NSS) and OpenSSL's. Go tests run
// it through signing/signtest.ItextVerify, which parses the output.
//
// Usage:
//   java -cp CLASSPATH ItextVerify FILE.pdf [--ca CA.pem] [--owner-pw PW]
// Output: one line per signature, tab-separated key=value pairs, in field order:
//   name  revision  total_revisions  covers_whole_document  sub_filter  digest  signer
//   sign_date (UTC, RFC 3339)  integrity (true when digest and signature verify)
//   cert_errors (only with --ca: number of chain problems; cert_error=... describes the first)
//   timestamp (true when the signature carries an RFC 3161 token or is a document time-stamp),
//   timestamp_date and timestamp_imprint (signature time-stamps only: whether the token's
//   imprint is the hash of the signature value)
// Values never contain tabs or newlines (they are replaced by spaces). Exit 0 even for invalid
// signatures: the verdict is in the output; exit 1 only when the file cannot be read.
import com.itextpdf.text.pdf.AcroFields;
import com.itextpdf.text.pdf.PdfDictionary;
import com.itextpdf.text.pdf.PdfName;
import com.itextpdf.text.pdf.PdfReader;
import com.itextpdf.text.pdf.security.CertificateVerification;
import com.itextpdf.text.pdf.security.PdfPKCS7;
import com.itextpdf.text.pdf.security.VerificationException;
import java.io.FileInputStream;
import java.security.KeyStore;
import java.security.Security;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.text.SimpleDateFormat;
import java.util.Calendar;
import java.util.List;
import java.util.TimeZone;
import org.bouncycastle.jce.provider.BouncyCastleProvider;

public final class ItextVerify {
    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: ItextVerify FILE.pdf [--ca CA.pem] [--owner-pw PW]");
            System.exit(2);
        }
        String ca = null;
        byte[] ownerPw = null;
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--ca": ca = args[++i]; break;
                case "--owner-pw": ownerPw = args[++i].getBytes("ISO-8859-1"); break;
                default:
                    System.err.println("unknown option " + args[i]);
                    System.exit(2);
            }
        }
        Security.addProvider(new BouncyCastleProvider());
        KeyStore trust = null;
        if (ca != null) {
            trust = KeyStore.getInstance(KeyStore.getDefaultType());
            trust.load(null, null);
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            int n = 0;
            try (FileInputStream in = new FileInputStream(ca)) {
                for (Certificate c : cf.generateCertificates(in)) {
                    trust.setCertificateEntry("ca" + n++, c);
                }
            }
        }
        PdfReader reader;
        try {
            reader = ownerPw == null ? new PdfReader(args[0]) : new PdfReader(args[0], ownerPw);
        } catch (Exception e) {
            System.err.println("cannot read " + args[0] + ": " + e);
            System.exit(1);
            return;
        }
        SimpleDateFormat iso = new SimpleDateFormat("yyyy-MM-dd'T'HH:mm:ss'Z'");
        iso.setTimeZone(TimeZone.getTimeZone("UTC"));
        AcroFields fields = reader.getAcroFields();
        for (String name : fields.getSignatureNames()) {
            StringBuilder line = new StringBuilder();
            put(line, "name", name);
            put(line, "revision", Integer.toString(fields.getRevision(name)));
            put(line, "total_revisions", Integer.toString(fields.getTotalRevisions()));
            put(line, "covers_whole_document", Boolean.toString(fields.signatureCoversWholeDocument(name)));
            PdfDictionary sig = fields.getSignatureDictionary(name);
            PdfName sub = sig.getAsName(PdfName.SUBFILTER);
            put(line, "sub_filter", sub == null ? "" : PdfName.decodeName(sub.toString()));
            try {
                PdfPKCS7 pk = fields.verifySignature(name, "BC");
                put(line, "digest", pk.getHashAlgorithm());
                X509Certificate cert = pk.getSigningCertificate();
                put(line, "signer", cert.getSubjectX500Principal().getName());
                Calendar cal = pk.getSignDate();
                put(line, "sign_date", cal == null ? "" : iso.format(cal.getTime()));
                boolean ok;
                try {
                    ok = pk.verify();
                } catch (Exception e) {
                    ok = false;
                    put(line, "integrity_error", e.toString());
                }
                put(line, "integrity", Boolean.toString(ok));
                boolean hasTsa = pk.isTsp() || pk.getTimeStampToken() != null;
                put(line, "timestamp", Boolean.toString(hasTsa));
                if (pk.getTimeStampToken() != null && !pk.isTsp()) {
                    // A signature time-stamp: its imprint must be the hash of the signature value.
                    // (A document time-stamp's imprint is checked by verify() above.)
                    put(line, "timestamp_date", iso.format(pk.getTimeStampDate().getTime()));
                    boolean imprint;
                    try {
                        imprint = pk.verifyTimestampImprint();
                    } catch (Exception e) {
                        imprint = false;
                    }
                    put(line, "timestamp_imprint", Boolean.toString(imprint));
                }
                if (trust != null) {
                    List<VerificationException> errs =
                            CertificateVerification.verifyCertificates(pk.getSignCertificateChain(), trust, cal);
                    put(line, "cert_errors", Integer.toString(errs.size()));
                    if (!errs.isEmpty()) {
                        put(line, "cert_error", errs.get(0).getMessage());
                    }
                }
            } catch (Exception e) {
                put(line, "integrity", "false");
                put(line, "integrity_error", e.toString());
            }
            System.out.println(line.toString().trim());
        }
        reader.close();
    }

    private static void put(StringBuilder line, String key, String value) {
        String clean = value == null ? "" : value.replace('\t', ' ').replace('\n', ' ').replace('\r', ' ');
        line.append(key).append('=').append(clean).append('\t');
    }
}
