# Cuspid, application du cabinet — français (fr)
# Les clés sont partagées avec en/main.ftl ; garder les deux fichiers alignés.

## Interface

app-name = Cuspid
skip-to-content = Aller au contenu
nav-label = Navigation principale
live-on = Mises à jour en direct connectées
live-off = Mises à jour en direct déconnectées
footer-request-id = Identifiant de requête :

## Navigation

nav-dashboard = Tableau de bord
nav-patients = Patients
nav-doctors = Praticiens
nav-appointments = Rendez-vous
nav-treatments = Soins
nav-prescriptions = Ordonnances
nav-invoices = Factures
nav-payments = Paiements
nav-lab-requests = Demandes au laboratoire
nav-inventory = Stock
nav-inventory-logs = Mouvements de stock
nav-expenses = Dépenses
nav-reports = Rapports
nav-profile = Profil

## Tableau de bord

dashboard-title = Tableau de bord
dashboard-locations = Sites
dashboard-no-locations = Aucun site n’a encore été configuré pour ce cabinet.
dashboard-address = Adresse
dashboard-system = Système
dashboard-version = Version
dashboard-database = Base de données
dashboard-timezone = Fuseau horaire
dashboard-currency = Devise
dashboard-hours = Horaires d’ouverture

## Erreurs

error-back = Retour au tableau de bord
error-not-found-title = Page introuvable
error-not-found-detail = Il n’y a aucune page à cette adresse. Elle a peut-être été déplacée, ou le lien contient une faute de frappe.
error-payload-too-large-title = Envoi trop volumineux
error-payload-too-large-detail = Les données envoyées dépassent la taille acceptée par le serveur. Essayez un fichier plus petit, ou moins de fichiers à la fois.
error-internal-title = Une erreur est survenue
error-internal-detail = Le serveur n’a pas pu traiter cette requête. L’erreur a été enregistrée ; indiquez l’identifiant de requête ci-dessous si vous la signalez.
error-bad-request-title = Requête invalide
error-bad-request-detail = Le serveur n’a pas compris cette requête. Rechargez la page et réessayez.
error-forbidden-title = Accès refusé
error-forbidden-detail = Votre rôle ne permet pas cette action. Demandez à un administrateur du cabinet si vous avez besoin de cet accès.
error-unauthorized-title = Connexion requise
error-unauthorized-detail = Votre session a expiré ou vous n’êtes pas connecté. Reconnectez-vous pour continuer.

## Pages pas encore construites

empty-coming = Cette page n’est pas encore construite
page-patients-blurb = Patients : rechercher, enregistrer et ouvrir les dossiers patients, avec coordonnées, familles, assurance, consentements et alertes médicales.
page-doctors-blurb = Praticiens : les dentistes, hygiénistes et assistantes du cabinet, les sites où ils exercent et leurs horaires de travail.
page-appointments-blurb = Rendez-vous : l’agenda par fauteuil et par praticien, pour prendre, déplacer, confirmer et enregistrer l’arrivée des patients, avec une liste d’attente.
page-treatments-blurb = Soins : plans de traitement et actes réalisés pour chaque patient, reportés sur l’odontogramme par dent et par face.
page-prescriptions-blurb = Ordonnances : médicaments, posologie et durée prescrits à un patient, vérifiés au regard des allergies connues, prêts à imprimer et à signer.
page-invoices-blurb = Factures : factures établies à partir des soins réalisés, avec le détail des actes, les parts assurance et patient, les soldes et l’impression.
page-payments-blurb = Paiements : sommes reçues en espèces, par carte, par virement ou des assurances, affectées aux factures, avec les remboursements et la clôture de caisse du jour.
page-lab-requests-blurb = Demandes au laboratoire : travaux confiés aux laboratoires de prothèse — couronnes, bridges, prothèses amovibles, gouttières — avec les échéances et les retours.
page-inventory-blurb = Stock : consommables et matériaux disponibles sur chaque site, avec quantités, seuils de réapprovisionnement, fournisseurs, lots et dates de péremption.
page-inventory-logs-blurb = Mouvements de stock : chaque entrée ou sortie — réception, utilisation lors d’un soin, ajustement ou mise au rebut — avec son auteur et sa date.
page-expenses-blurb = Dépenses : les charges du cabinet — loyer, factures de laboratoire, fournitures, salaires — par catégorie, fournisseur et site.
page-reports-blurb = Rapports : production et encaissements par praticien, rendez-vous honorés et manqués, soldes impayés et valeur du stock.
page-profile-blurb = Profil : votre propre compte — nom, langue, mot de passe, connexion à deux facteurs et sessions actuellement ouvertes.
error-validation-title = Veuillez vérifier le formulaire
error-validation-detail = Certains champs manquent ou ne sont pas valides. Rien n’a été enregistré.
error-method-not-allowed-title = Action non permise ici
error-method-not-allowed-detail = Cette adresse n’accepte pas ce type de requête.
error-conflict-title = Modifié par quelqu’un d’autre
error-conflict-detail = Cette fiche a été modifiée pendant que vous la modifiiez. Rechargez-la et refaites votre modification.
error-unsupported-media-type-title = Format non pris en charge
error-unsupported-media-type-detail = Le serveur n’accepte pas de données dans ce format.
error-rate-limited-title = Trop de tentatives
error-rate-limited-detail = Veuillez patienter un instant avant de réessayer.
error-unavailable-title = Momentanément indisponible
error-unavailable-detail = Le serveur ne peut pas joindre sa base de données ou son stockage de fichiers pour l’instant. Réessayez dans une minute.

## Tâches de fond (administration)

nav-jobs = Tâches de fond
jobs-title = Tâches de fond
jobs-queue = File d’attente
jobs-pending = En attente
jobs-running = En cours
jobs-done = Terminées
jobs-dead = Échec définitif
jobs-dead-letters = Tâches en échec après toutes les tentatives
jobs-no-dead = Aucune tâche n’a échoué définitivement.
jobs-kind = Type
jobs-attempts = Tentatives
jobs-last-error = Dernière erreur
jobs-created = Créée le
jobs-actions = Actions
jobs-retry = Relancer

## Connexion

login-title = Connexion
login-email = Courriel
login-password = Mot de passe
login-submit = Se connecter
login-rejected = Le courriel ou le mot de passe est incorrect, ou le compte est bloqué quelques minutes après trop de tentatives.
login-expired = Votre session a pris fin. Reconnectez-vous pour revenir à la page où vous étiez.

logout = Se déconnecter

## Profil

profile-account = Votre compte
profile-name = Nom
profile-roles = Rôles
profile-password = Mot de passe
profile-current-password = Mot de passe actuel
profile-new-password = Nouveau mot de passe
profile-password-hint = Au moins 12 caractères. Quelques mots sans rapport font un mot de passe solide et facile à retenir.
profile-change-password = Changer le mot de passe
profile-password-changed = Votre mot de passe a été changé. Toutes les autres sessions ont été fermées.
profile-sessions = Où vous êtes connecté
profile-session-started = Connexion
profile-session-last-used = Dernière utilisation
profile-session-device = Appareil
profile-session-this = Cet appareil

mfa-title = Connexion en deux étapes
mfa-login-title = Saisissez votre code
mfa-login-hint = Ouvrez votre application d’authentification et saisissez le code à 6 chiffres affiché pour Cuspid.
mfa-code = Code
mfa-recovery-hint = Téléphone perdu ? Saisissez plutôt l’un de vos codes de récupération.
mfa-verify = Vérifier
mfa-start-over = Recommencer
mfa-rejected = Ce code est incorrect ou a déjà été utilisé. Les codes changent toutes les 30 secondes.
mfa-qr-label = Code QR à scanner avec une application d’authentification
mfa-back-to-profile = Retour au profil
mfa-required-notice = Votre rôle exige la connexion en deux étapes. Configurez-la ci-dessous pour continuer à utiliser Cuspid.
mfa-recovery-title = Vos codes de récupération
mfa-recovery-once = Chaque code vous connecte une fois si vous perdez votre téléphone. Conservez-les en lieu sûr : ils ne sont affichés que maintenant.
mfa-status = État
mfa-on = Activée
mfa-on-detail = Vous vous connectez avec votre mot de passe et un code de votre application d’authentification.
mfa-codes-left = Codes de récupération restants
mfa-disable = Désactiver la connexion en deux étapes
mfa-enrol = Configurer la connexion en deux étapes
mfa-step-app = Installez une application d’authentification (par exemple Google Authenticator, Microsoft Authenticator, 1Password ou Aegis).
mfa-step-scan = Scannez ce code QR avec l’application.
mfa-step-code = Saisissez le code à 6 chiffres affiché par l’application.
mfa-manual = Impossible de scanner ? Saisissez plutôt cette clé dans l’application :
mfa-turn-on = Activer
mfa-required-cannot-disable = Votre rôle exige la connexion en deux étapes : elle ne peut pas être désactivée.
profile-mfa = Connexion en deux étapes
profile-mfa-on = Activée
profile-mfa-off = Désactivée
profile-mfa-manage = Gérer
profile-mfa-set-up = Configurer
nav-security = Sécurité
security-mfa-roles = Rôles tenus d’utiliser la connexion en deux étapes
security-mfa-roles-hint = Les personnes ayant un rôle coché devront configurer une application d’authentification à leur prochaine connexion et ne pourront ouvrir aucune autre page avant de l’avoir fait.
settings-save = Enregistrer
settings-saved = Enregistré.
role-admin = Administrateur
role-dentist = Dentiste
role-hygienist = Hygiéniste
role-assistant = Assistant(e)
role-receptionist = Réceptionniste
role-coordinator = Coordonnateur(trice) de traitement
role-billing = Facturation
phone-title = Connexion par téléphone
phone-number = Numéro de mobile
phone-hint = Nous envoyons un code à 6 chiffres par texto au numéro de votre compte. Un numéro sans indicatif de pays est lu comme nord-américain (+1).
phone-send = M’envoyer un code
phone-code-sent = Si ce numéro correspond à un compte, un code a été envoyé au
phone-code = Code à 6 chiffres
phone-new-code = Demander un nouveau code
phone-use-password = Se connecter plutôt avec courriel et mot de passe
phone-invalid = Ce numéro ne peut pas recevoir de texto
phone-rate-limited = Trop de codes ont été demandés pour ce numéro ou depuis ce réseau. Attendez 15 minutes ou connectez-vous avec votre courriel et votre mot de passe.
phone-code-rejected = Ce code est incorrect, a expiré (les codes durent 5 minutes) ou a été essayé trop de fois.
login-with-phone = Se connecter plutôt avec un numéro de téléphone
reset-title = Réinitialiser votre mot de passe
reset-ask-hint = Saisissez le courriel de votre compte. Nous vous enverrons un lien pour choisir un nouveau mot de passe.
reset-send = M’envoyer un lien
reset-sent = Si un compte utilise ce courriel, un lien pour choisir un nouveau mot de passe vous a été envoyé. Il fonctionne une fois, pendant une heure.
reset-save = Enregistrer le nouveau mot de passe
reset-dead = Ce lien a expiré ou a déjà été utilisé.
reset-ask-again = Demander un nouveau lien
reset-back = Retour à la connexion
login-forgot = Mot de passe oublié ?
login-reset-done = Votre mot de passe a été changé et toutes les sessions ont été fermées. Connectez-vous avec le nouveau mot de passe.
doctor-add = Ajouter un praticien
doctor-none = Aucun praticien pour l’instant
doctor-none-hint = Ajoutez les dentistes et hygiénistes qui voient des patients : leur agenda, leurs dossiers et leurs signatures commencent ici.
doctor-name = Nom
doctor-roles = Rôles
doctor-specialty = Spécialité
doctor-licence_number = Numéro de permis
doctor-npi = NPI ou numéro de praticien
doctor-npi-hint = Un NPI américain a 10 chiffres et est vérifié ; ailleurs, le numéro de praticien du régime de votre pays.
doctor-color = Couleur dans l’agenda
doctor-phone = Numéro de mobile
doctor-phone-hint = Pour la connexion par code texto.
doctor-email-hint = Son identifiant. Le mot de passe se choisit par « Mot de passe oublié ? », ou la connexion se fait par téléphone.
doctor-status = État
doctor-active = Actif
doctor-inactive = Inactif
doctor-deactivate = Désactiver
doctor-activate = Réactiver
doctor-back = Tous les praticiens
doctor-fix = Veuillez corriger ce qui suit :
doctor-email = Courriel
doctor-active-field = Actif
spec-general_dentistry = Dentisterie générale
spec-dental_hygiene = Hygiène dentaire
spec-orthodontics = Orthodontie
spec-endodontics = Endodontie
spec-periodontics = Parodontie
spec-prosthodontics = Prosthodontie
spec-oral_surgery = Chirurgie buccale et maxillo-faciale
spec-pediatric_dentistry = Dentisterie pédiatrique
spec-oral_medicine = Médecine buccale
spec-dental_anesthesiology = Anesthésiologie dentaire
spec-orofacial_pain = Douleur orofaciale
spec-oral_pathology = Pathologie buccale et maxillo-faciale
spec-oral_radiology = Radiologie buccale et maxillo-faciale
spec-dental_public_health = Santé dentaire publique
nav-audit = Journal d’audit
audit-export = Exporter en CSV
audit-verify = Vérifier la chaîne
audit-verify-ok = La chaîne est intacte. Événements vérifiés :
audit-verify-checkpoints = points de contrôle signés :
audit-verify-broken = La chaîne est ROMPUE à l’événement
audit-user = Utilisateur
audit-anyone = Tout le monde
audit-action = Action
audit-patient = Patient
audit-from = Du
audit-to = Au
audit-filter = Filtrer
audit-access-report = Qui a ouvert le dossier de ce patient
audit-first = Première fois
audit-last = Dernière fois
audit-count = Nombre
audit-events = Événements, du plus récent au plus ancien
audit-none = Aucun événement ne correspond à ces filtres.
audit-when = Quand
audit-subject = Objet
audit-details = Détails
audit-older = Événements plus anciens
tokens-title = Jetons d’API
tokens-created = Votre nouveau jeton. Copiez-le maintenant : il n’est affiché qu’une fois.
tokens-list = Jetons
tokens-none = Aucun jeton d’API pour l’instant.
tokens-permissions = Permissions
tokens-created-on = Créé le
tokens-expires = Expire le
tokens-last-used = Dernière utilisation
tokens-never = jamais
tokens-revoke = Révoquer
tokens-dead = Révoqué ou expiré
tokens-new = Nouveau jeton
tokens-valid-days = Valable (jours)
tokens-create = Créer le jeton
nav-api-tokens = Jetons d’API
security-sessions = Sessions et alertes
security-session_idle_minutes = Déconnexion après inactivité (minutes)
security-session_absolute_hours = Déconnexion après (heures), quelle que soit l’activité
security-anomaly_patients_per_hour = Alerter quand une personne ouvre plus de dossiers que ceci en une heure
security-anomaly_off_hours = Alerter quand des dossiers sont ouverts en dehors des heures d’ouverture
security-anomaly-hint = Les alertes s’affichent sur la page du journal d’audit et sont envoyées par courriel aux administrateurs.
settings-whole-number = doit être un nombre entier
audit-alerts = Alertes de sécurité
audit-alert-patients_per_hour = a ouvert de nombreux dossiers en une heure
audit-alert-off_hours = a ouvert des dossiers en dehors des heures d’ouverture
audit-acknowledge = Marquer comme examinée
