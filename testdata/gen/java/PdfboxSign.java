// PdfboxSign signs a PDF with Apache PDFBox 2 (Debian libpdfbox2-java) and BouncyCastle CMS, as a
// second independent signer for the corpus. It uses SubFilter adbe.pkcs7.detached (what PDFBox's
// own examples produce and what many Vietnamese signing tools still emit), so verifiers meet both
// SubFilters.
//
// Usage:
//   java -cp CLASSPATH PdfboxSign IN.pdf OUT.pdf KEYSTORE.p12 PASSWORD [--name TEXT] [--reason TEXT]
//
// The signature is SHA-256 with RSA, detached, appended with saveIncremental so earlier revisions
// and signatures stay byte-identical.
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Calendar;
import java.util.List;
import org.apache.pdfbox.io.IOUtils;
import org.apache.pdfbox.pdmodel.PDDocument;
import org.apache.pdfbox.pdmodel.interactive.digitalsignature.PDSignature;
import org.apache.pdfbox.pdmodel.interactive.digitalsignature.SignatureInterface;
import org.apache.pdfbox.pdmodel.interactive.digitalsignature.SignatureOptions;
import org.bouncycastle.cert.jcajce.JcaCertStore;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.CMSSignedData;
import org.bouncycastle.cms.CMSSignedDataGenerator;
import org.bouncycastle.cms.jcajce.JcaSignerInfoGeneratorBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;

public final class PdfboxSign implements SignatureInterface {
    private final PrivateKey key;
    private final Certificate[] chain;

    private PdfboxSign(PrivateKey key, Certificate[] chain) {
        this.key = key;
        this.chain = chain;
    }

    // sign receives exactly the bytes covered by /ByteRange and returns the DER CMS that PDFBox
    // writes into /Contents.
    @Override
    public byte[] sign(InputStream content) throws IOException {
        try {
            CMSSignedDataGenerator gen = new CMSSignedDataGenerator();
            X509Certificate cert = (X509Certificate) chain[0];
            ContentSigner signer = new JcaContentSignerBuilder("SHA256withRSA").build(key);
            gen.addSignerInfoGenerator(new JcaSignerInfoGeneratorBuilder(
                    new JcaDigestCalculatorProviderBuilder().build()).build(signer, cert));
            List<Certificate> certs = new ArrayList<>(Arrays.asList(chain));
            gen.addCertificates(new JcaCertStore(certs));
            CMSSignedData data = gen.generate(new CMSProcessableByteArray(IOUtils.toByteArray(content)), false);
            return data.getEncoded();
        } catch (Exception e) {
            throw new IOException("CMS signing failed", e);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 4) {
            System.err.println("usage: PdfboxSign IN.pdf OUT.pdf KEYSTORE.p12 PASSWORD [--name TEXT] [--reason TEXT]");
            System.exit(2);
        }
        String name = "Nguyễn Văn Thử";
        String reason = "Đóng dấu";
        for (int i = 4; i < args.length; i++) {
            switch (args[i]) {
                case "--name": name = args[++i]; break;
                case "--reason": reason = args[++i]; break;
                default:
                    System.err.println("unknown option " + args[i]);
                    System.exit(2);
            }
        }
        char[] pw = args[3].toCharArray();
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (FileInputStream in = new FileInputStream(args[2])) {
            ks.load(in, pw);
        }
        String alias = ks.aliases().nextElement();
        PdfboxSign iface = new PdfboxSign((PrivateKey) ks.getKey(alias, pw), ks.getCertificateChain(alias));

        try (PDDocument doc = PDDocument.load(new java.io.File(args[0]));
             FileOutputStream out = new FileOutputStream(args[1])) {
            PDSignature sig = new PDSignature();
            sig.setFilter(PDSignature.FILTER_ADOBE_PPKLITE);
            sig.setSubFilter(PDSignature.SUBFILTER_ADBE_PKCS7_DETACHED);
            sig.setName(name);
            sig.setReason(reason);
            sig.setLocation("Hà Nội");
            sig.setSignDate(Calendar.getInstance());
            SignatureOptions opts = new SignatureOptions();
            // Room for the CMS with a two-certificate chain; PDFBox pads the rest with zeros.
            opts.setPreferredSignatureSize(SignatureOptions.DEFAULT_SIGNATURE_SIZE * 2);
            doc.addSignature(sig, iface, opts);
            doc.saveIncremental(out);
            opts.close();
        }
    }
}
