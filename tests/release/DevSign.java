// Signs many APKs with development keys in one JVM (the synthetic-release generator,
// tests/release/mktf.py --batch-sign): Debian's apksig library, the engine behind
// apksigner, without one JVM start per APK.
//
//   java -cp apksig.jar:DIR DevSign JOBS
//
// JOBS: one line per APK, tab-separated: input, output, key (PKCS#8 DER), certificate
// (PEM), minimum SDK version.  Signs as `apksigner sign --min-sdk-version N` does
// (v1 when N < 24, v2, v3; no v4).
import com.android.apksig.ApkSigner;
import java.io.File;
import java.io.FileInputStream;
import java.nio.file.Files;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

public class DevSign {
    private static final Map<String, ApkSigner.SignerConfig> SIGNERS = new HashMap<>();

    private static ApkSigner.SignerConfig signer(String key, String cert) throws Exception {
        String id = key + "\0" + cert;
        ApkSigner.SignerConfig c = SIGNERS.get(id);
        if (c != null)
            return c;
        PrivateKey pk = KeyFactory.getInstance("RSA").generatePrivate(
            new PKCS8EncodedKeySpec(Files.readAllBytes(new File(key).toPath())));
        X509Certificate x;
        try (FileInputStream in = new FileInputStream(cert)) {
            x = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
        c = new ApkSigner.SignerConfig.Builder("CERT", pk, Collections.singletonList(x)).build();
        SIGNERS.put(id, c);
        return c;
    }

    public static void main(String[] args) throws Exception {
        List<String> jobs = Files.readAllLines(new File(args[0]).toPath());
        for (String line : jobs) {
            if (line.isEmpty())
                continue;
            String[] f = line.split("\t");
            int sdk = Integer.parseInt(f[4]);
            new ApkSigner.Builder(Collections.singletonList(signer(f[2], f[3])))
                .setInputApk(new File(f[0]))
                .setOutputApk(new File(f[1]))
                .setMinSdkVersion(sdk)
                .setV1SigningEnabled(sdk < 24)
                .setV2SigningEnabled(true)
                .setV3SigningEnabled(true)
                .setV4SigningEnabled(false)
                .build()
                .sign();
        }
    }
}
