/*
 * The signature table and first-steps texts (see sigs.h). Texts are written for an
 * SME's staff, not for analysts: what happened in plain words, and what to do now.
 */
#include "detect/sigs.h"

#include <string.h>

static const struct det_sig_info sigs[SIG_COUNT] = {
    [SIG_INTEL_C2] = {1000001, "c2", 1, "Known C&C server contacted",
                      "既知のC&Cサーバーへの通信"},
    [SIG_INTEL_MALWARE] = {1000002, "malware", 1, "Known malware host or file",
                           "既知の不正プログラム（配布元・ファイル）"},
    [SIG_INTEL_MALICIOUS_SITE] = {1000003, "malicious_site", 2, "Known malicious site accessed",
                                  "既知の不正サイトへのアクセス"},
    [SIG_INTEL_PHISHING] = {1000004, "malicious_site", 2, "Known phishing site accessed",
                            "既知のフィッシングサイトへのアクセス"},
    [SIG_INTEL_RANSOMWARE] = {1000005, "ransomware", 1, "Known ransomware indicator",
                              "既知のランサムウェアの痕跡"},
    [SIG_INTEL_SPAM] = {1000006, "spam", 3, "Mail from a known spam source",
                        "既知のスパム送信元からのメール"},
    [SIG_INTEL_URL_CATEGORY] = {1000007, "url_category", 3, "Access to a watched URL category",
                                "監視対象カテゴリのサイトへのアクセス"},
    [SIG_INTEL_SCANNER] = {1000008, "recon", 4, "Traffic with a known scanner",
                           "既知のスキャナーとの通信"},
    [SIG_INTEL_INTRUSION] = {1000009, "intrusion", 2, "Traffic with a known attacker",
                             "既知の攻撃元との通信"},
    [SIG_INTEL_PROHIBITED_APP] = {1000010, "prohibited_app", 3,
                                  "Prohibited application or service used",
                                  "禁止されたアプリケーション・サービスの利用"},
    [SIG_INTEL_ANOMALY] = {1000011, "anomaly", 3, "Traffic with a listed suspicious host",
                           "要注意リストに載ったホストとの通信"},
    [SIG_SCAN_PORTS] = {2000001, "recon", 3, "Port scan", "ポートスキャン"},
    [SIG_SCAN_HOSTS] = {2000002, "recon", 3, "Host sweep (many addresses probed)",
                        "ホストスイープ（多数のアドレスへの探索）"},
    [SIG_SCAN_ICMP] = {2000003, "recon", 3, "Ping sweep", "pingによるホスト探索"},
    [SIG_C2_BURST] = {2000101, "c2", 1, "Bot-like burst of connections to one external server",
                      "1台の外部サーバーへの短時間の集中接続（ボットの疑い）"},
    [SIG_LAND] = {2000201, "intrusion", 3, "Land attack (same source and destination address)",
                  "Land攻撃（送信元と宛先が同じアドレス）"},
    [SIG_HTTP_TRAVERSAL] = {2000301, "intrusion", 2, "HTTP path traversal attempt",
                            "HTTPパストラバーサル攻撃の試み"},
    [SIG_HTTP_SHELLSHOCK] = {2000302, "intrusion", 2, "HTTP Shellshock attempt",
                             "HTTP Shellshock攻撃の試み"},
    [SIG_HTTP_LOG4SHELL] = {2000303, "intrusion", 1, "HTTP Log4Shell (JNDI lookup) attempt",
                            "HTTP Log4Shell（JNDI参照）攻撃の試み"},
    [SIG_HTTP_CMDINJ] = {2000304, "intrusion", 2, "HTTP command injection attempt",
                         "HTTPコマンドインジェクション攻撃の試み"},
    [SIG_FILE_ARCHIVE_EXE] = {2000401, "malware", 1, "Archive holding an executable or script",
                              "実行ファイル・スクリプトを含む圧縮ファイル"},
    [SIG_FILE_DOUBLE_EXT] = {2000402, "malware", 1, "File with a double extension",
                             "二重拡張子のファイル"},
    [SIG_FILE_DISGUISED_EXE] = {2000403, "malware", 1,
                                "Executable disguised with a harmless-looking name",
                                "無害な名前に偽装した実行ファイル"},
    [SIG_FILE_EXE_ATTACHMENT] = {2000404, "malware", 2, "Executable or script delivered",
                                 "実行ファイル・スクリプトの受信"},
    /* spam and mail abuse (spam.c) */
    [SIG_SPAM_SENDER_MISMATCH] = {2000701, "spam", 3,
                                  "Mail whose envelope sender and From domains differ",
                                  "送信元（エンベロープ）とFromのドメインが異なるメール"},
    [SIG_SPAM_DISPLAY_NAME] = {2000702, "spam", 2,
                               "Mail whose display name impersonates another address",
                               "表示名で別のアドレスになりすましたメール"},
    [SIG_SPAM_BULK] = {2000703, "spam", 3, "Bulk mail from one sender",
                       "1つの送信元からの大量メール"},
    [SIG_SPAM_ATTACHMENT] = {2000704, "spam", 2, "Mail with a dangerous attachment received",
                             "危険な添付ファイル付きメールの受信"},
    [SIG_FILE_YARA] = {2000405, "malware", 1, "File matches a YARA rule",
                       "YARAルールに一致するファイル"},
    [SIG_FILE_CLAMAV] = {2000406, "malware", 1, "File detected by ClamAV",
                         "ClamAVがウイルスを検知したファイル"},
    /* device inventory (sensor/inventory, issue 5) */
    [SIG_NEW_DEVICE] = {3000001, "new_device", 3, "New device joined the network",
                        "新しい機器がネットワークに接続されました"},
    /* policy and beaconing (policy.c, beacon.c) */
    [SIG_PROHIBITED_APP] = {2000501, "prohibited_app", 3,
                            "Application forbidden by the company's policy",
                            "会社のポリシーで禁止されたアプリケーションの利用"},
    [SIG_C2_BEACON] = {2000102, "c2", 2,
                       "Regular beaconing to one external server (bot-like)",
                       "1台の外部サーバーへの一定間隔の接続（ビーコン、ボットの疑い）"},
    /* DGA-like names (dga.c), nDPI's site categories (urlcat.c) */
    [SIG_C2_DGA] = {2000103, "c2", 2,
                    "Many random-looking or non-existent domain names looked up (DGA, bot-like)",
                    "ランダムな・存在しないドメイン名の大量の問い合わせ（DGA、ボットの疑い）"},
    [SIG_NDPI_MALWARE_SITE] = {2000601, "malicious_site", 2,
                               "Site classified as malware by nDPI",
                               "nDPIが不正（マルウェア）と分類したサイトへのアクセス"},
    [SIG_NDPI_MINING] = {2000602, "malware", 2,
                         "Cryptocurrency mining traffic (a miner runs on this device)",
                         "暗号資産のマイニング通信（この端末でマイニングソフトが動作）"},
    /* traffic anomalies (anomaly.c) */
    [SIG_ANOMALY_BYTES] = {2000801, "anomaly", 3,
                           "Device sending far more data out than usual",
                           "端末から外部への送信量が普段より大幅に多い"},
    [SIG_ANOMALY_CONNS] = {2000802, "anomaly", 3,
                           "Device opening far more connections than usual",
                           "端末の新規接続数が普段より大幅に多い"},
};

const struct det_sig_info *det_sig(enum det_sig s)
{
    return (unsigned)s < SIG_COUNT ? &sigs[s] : NULL;
}

int det_sig_for_intel_category(const char *c)
{
    static const struct {
        const char *name;
        enum det_sig sig;
    } map[] = {
        {"c2", SIG_INTEL_C2},
        {"malware", SIG_INTEL_MALWARE},
        {"malicious_site", SIG_INTEL_MALICIOUS_SITE},
        {"phishing", SIG_INTEL_PHISHING},
        {"piracy", SIG_INTEL_URL_CATEGORY},
        {"ransomware", SIG_INTEL_RANSOMWARE},
        {"spam", SIG_INTEL_SPAM},
        {"url_category", SIG_INTEL_URL_CATEGORY},
        {"recon", SIG_INTEL_SCANNER},
        {"scanner", SIG_INTEL_SCANNER},
        {"intrusion", SIG_INTEL_INTRUSION},
        {"prohibited_app", SIG_INTEL_PROHIBITED_APP},
        {"anomaly", SIG_INTEL_ANOMALY},
    };
    if (c != NULL && strncmp(c, "url_category:", 13) == 0)
        return (int)SIG_INTEL_URL_CATEGORY; /* a URL category list (urlcat.c) */
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (c != NULL && strcmp(c, map[i].name) == 0)
            return (int)map[i].sig;
    return -1;
}

struct action {
    const char *category;
    enum det_dir dir;
    const char *ja, *en;
};

/* Per category: the inbound and internal variants where they differ; the outbound
 * text is the default of the category. */
static const struct action actions[] = {
    {"c2", DET_OUTBOUND,
     "この端末はウイルスに感染し、外部の攻撃者の指令サーバーと通信している可能性があります。"
     "1) 利用者に心当たりがあるか確認する 2) LANケーブルを抜くかWi-Fiを切り、ネットワークから外す "
     "3) ウイルス対策ソフトの定義を更新して完全スキャンする 4) 何も見つからなくても、"
     "可能であれば初期化（再インストール）する。",
     "This device is probably infected and talking to an attacker's command server. "
     "1) Ask its user whether this was intended. 2) Disconnect it from the network (cable or "
     "Wi-Fi). 3) Update the antivirus definitions and run a full scan. 4) If nothing is found, "
     "reinstall it if you can."},
    {"malware", DET_INBOUND,
     "危険なファイル（実行ファイル・スクリプト）が届きました。1) 受信者に開かないよう連絡し、"
     "メールやファイルを削除する 2) すでに開いた場合はその端末をネットワークから外し、"
     "ウイルス対策ソフトで完全スキャンする 3) 同じ送信元からの他のメールも確認する。",
     "A dangerous file (an executable or script) was delivered. 1) Tell the recipient not to "
     "open it and delete the mail or file. 2) If it was opened, disconnect that device and run "
     "a full antivirus scan. 3) Check for other mail from the same sender."},
    {"malware", DET_OUTBOUND,
     "不正プログラムに関係する通信・ファイルを検知しました。1) 端末の利用者に何をしていたか確認する "
     "2) 端末をネットワークから外す 3) ウイルス対策ソフトの定義を更新して完全スキャンする。",
     "Traffic or a file linked to malware was seen. 1) Ask the device's user what they were "
     "doing. 2) Disconnect the device from the network. 3) Update the antivirus definitions "
     "and run a full scan."},
    {"ransomware", DET_OUTBOUND,
     "ランサムウェア（身代金要求型ウイルス）の疑いがあります。1) すぐにこの端末をネットワークから外す"
     "（電源は切らない） 2) 共有フォルダやNASのファイルが暗号化されていないか確認する "
     "3) バックアップを守るため、バックアップ装置も切り離す 4) 担当のサポート窓口に連絡する。",
     "Possible ransomware. 1) Disconnect this device from the network now (do not switch it "
     "off). 2) Check whether files on shares or the NAS were encrypted. 3) Disconnect backup "
     "devices to protect them. 4) Call your support desk."},
    {"malicious_site", DET_OUTBOUND,
     "危険と報告されているサイトにアクセスしました。1) 利用者に何を見ていたか確認し、"
     "ID・パスワードを入力していたら変更する 2) ファイルをダウンロードしていたら削除し、"
     "ウイルス対策ソフトでスキャンする 3) 社内に注意を呼びかける。",
     "A site reported as dangerous was visited. 1) Ask the user what they were doing; if they "
     "entered an ID or password, change it. 2) If a file was downloaded, delete it and run an "
     "antivirus scan. 3) Remind staff of the rules for web use."},
    {"url_category", DET_OUTBOUND,
     "会社が監視しているカテゴリ（例: 海賊版サイト）へのアクセスです。1) 利用者に業務上の必要が"
     "あったか確認する 2) 社内ルールを周知する 3) ファイルをダウンロードしていたら削除し、"
     "ウイルス対策ソフトでスキャンする。",
     "A site of a category the company watches (e.g. piracy) was visited. 1) Ask the user "
     "whether it was needed for work. 2) Remind staff of the company's rules. 3) If a file was "
     "downloaded, delete it and run an antivirus scan."},
    {"spam", DET_INBOUND,
     "スパム・迷惑メールの送信元からメールが届きました。1) 受信者にリンクや添付を開かないよう伝える "
     "2) 迷惑メール設定で送信元をブロックする。",
     "Mail came from a known spam source. 1) Tell the recipient not to open links or "
     "attachments. 2) Block the sender in the mail filter."},
    {"spam", DET_OUTBOUND,
     "社内の端末が大量のメールを送信しています。ウイルス感染やアカウントの乗っ取りの可能性があります。"
     "1) 利用者に心当たりがあるか確認する 2) 心当たりがなければ端末をネットワークから外し、"
     "メールのパスワードを変更する 3) ウイルス対策ソフトで完全スキャンする。",
     "A device of yours is sending bulk mail; it may be infected or its mail account taken "
     "over. 1) Ask its user whether this was intended. 2) If not, disconnect it and change "
     "the mail password. 3) Run a full antivirus scan."},
    {"spam", DET_INTERNAL,
     "社内の端末が大量のメールを送信しています。ウイルス感染やアカウントの乗っ取りの可能性があります。"
     "1) 利用者に心当たりがあるか確認する 2) 心当たりがなければ端末をネットワークから外し、"
     "メールのパスワードを変更する 3) ウイルス対策ソフトで完全スキャンする。",
     "A device of yours is sending bulk mail; it may be infected or its mail account taken "
     "over. 1) Ask its user whether this was intended. 2) If not, disconnect it and change "
     "the mail password. 3) Run a full antivirus scan."},
    {"recon", DET_INBOUND,
     "インターネットから社内の機器が探索されています（ポートスキャン）。多くは自動の調査ですが、"
     "1) 公開している機器（NASなど）のソフトウェアを最新にする 2) 不要なポートの公開をルーターで"
     "止める 3) 管理画面のパスワードが初期値でないか確認する。",
     "A device of yours is being probed from the Internet (port scan). Most such scans are "
     "automated, but: 1) update the software of the exposed device (NAS, camera...). 2) Close "
     "ports you do not need to publish on the router. 3) Make sure admin passwords are not "
     "the defaults."},
    {"recon", DET_INTERNAL,
     "社内の端末が他の機器を探索しています。ウイルス感染や、許可のないツールの利用の可能性があります。"
     "1) 利用者に心当たりがあるか確認する 2) 心当たりがなければ端末をネットワークから外す "
     "3) ウイルス対策ソフトで完全スキャンする。",
     "A device inside your network is probing other devices. It may be infected or running a "
     "tool nobody approved. 1) Ask its user whether this was intended. 2) If not, disconnect it "
     "from the network. 3) Run a full antivirus scan."},
    {"recon", DET_OUTBOUND,
     "社内の端末がインターネット上の多数の機器を探索しています。ウイルス感染の可能性があります。"
     "1) 利用者に心当たりがあるか確認する 2) 端末をネットワークから外す "
     "3) ウイルス対策ソフトで完全スキャンする。",
     "A device of yours is probing many hosts on the Internet; it may be infected. 1) Ask its "
     "user whether this was intended. 2) Disconnect it from the network. 3) Run a full "
     "antivirus scan."},
    {"intrusion", DET_INBOUND,
     "外部から社内の機器への攻撃の試みを検知しました。1) 対象の機器のソフトウェアを最新にする "
     "2) 不要な公開をルーターで止める 3) 機器のログに不審な操作がないか確認する。",
     "An attack on one of your devices from outside was seen. 1) Update the software of the "
     "target device. 2) Stop publishing what you do not need on the router. 3) Check the "
     "device's logs for suspicious actions."},
    {"intrusion", DET_INTERNAL,
     "社内の端末から他の機器への攻撃の試みを検知しました。1) 送信元の端末の利用者に確認する "
     "2) 心当たりがなければ端末をネットワークから外し、ウイルス対策ソフトで完全スキャンする。",
     "An attack from one of your devices on another was seen. 1) Ask the source device's user. "
     "2) If nobody expected it, disconnect the device and run a full antivirus scan."},
    {"intrusion", DET_OUTBOUND,
     "社内の端末から外部への攻撃の試みを検知しました。ウイルス感染の可能性があります。"
     "1) 利用者に確認する 2) 端末をネットワークから外し、ウイルス対策ソフトで完全スキャンする。",
     "An attack from one of your devices on an outside host was seen; it may be infected. "
     "1) Ask its user. 2) Disconnect it and run a full antivirus scan."},
    {"prohibited_app", DET_OUTBOUND,
     "会社で禁止しているアプリケーション・サービスが使われました。1) 利用者に確認する "
     "2) アンインストールを依頼し、社内ルールを周知する。",
     "An application or service the company forbids was used. 1) Ask the user. 2) Have it "
     "uninstalled and remind staff of the rules."},
    /* device inventory (issue 5); keep "anomaly" the last row (the fallback) */
    {"new_device", DET_INTERNAL,
     "見慣れない機器が社内ネットワークに接続されました。1) 誰の機器か確認する（メーカー・名前・"
     "種類を参考に） 2) 私物のスマートフォンなど許可のない機器なら、社内Wi-Fiから外してもらう "
     "3) 心当たりがなければWi-Fiのパスワードを変更する。",
     "A device never seen before joined the office network. 1) Find out whose it is (see its "
     "maker, name and kind). 2) If it is not allowed (e.g. a private smartphone), have it "
     "disconnected from the office Wi-Fi. 3) If nobody knows it, change the Wi-Fi password."},
    {"anomaly", DET_OUTBOUND,
     "いつもと違う通信を検知しました。1) 端末の利用者に心当たりがあるか確認する "
     "2) 心当たりがなければ、端末をネットワークから外してウイルス対策ソフトでスキャンする。",
     "Unusual traffic was seen. 1) Ask the device's user whether it is expected. 2) If not, "
     "disconnect the device and run an antivirus scan."},
};

void det_action(const char *category, enum det_dir dir, const char **ja, const char **en)
{
    const struct action *fallback = NULL;
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        if (strcmp(actions[i].category, category) != 0)
            continue;
        if (actions[i].dir == dir) {
            *ja = actions[i].ja;
            *en = actions[i].en;
            return;
        }
        if (fallback == NULL)
            fallback = &actions[i];
    }
    if (fallback == NULL)
        fallback = &actions[sizeof(actions) / sizeof(actions[0]) - 1]; /* anomaly */
    *ja = fallback->ja;
    *en = fallback->en;
}

void det_action_malfunction(const char **ja, const char **en)
{
    *ja = "同じ種類の検知がこの機器から大量に出ています。攻撃よりも機器の故障・設定ミスの可能性が"
          "高いです。1) 機器の電源を入れ直す 2) 改善しなければ機器の設定・配線を確認し、"
          "メーカーや購入元に相談する。";
    *en = "This device raises the same detection a great many times: more likely a broken or "
          "misconfigured device than an attack. 1) Restart the device. 2) If that does not "
          "help, check its settings and cabling and ask its maker or supplier.";
}

const char *det_dir_name(enum det_dir d)
{
    static const char *const names[DET_DIR_COUNT] = {"outbound", "inbound", "internal"};
    return (unsigned)d < DET_DIR_COUNT ? names[d] : "outbound";
}
