"""Access's migrations 0001-0009 (before the restructure) in one: the state they reached, built
directly. A database that applied 0001-0009 counts this as applied (`replaces`); one that stopped
before 0009 must first be migrated with a release that still has those files (docs/deployment.md).

0006's data step (binding ClientScopes rows to their applications) is not repeated: on a new
database there are no rows to bind."""

import access.models
import core.dates
import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from oauth2_provider.settings import oauth2_settings


class Migration(migrations.Migration):

    replaces = [('access', '0001_initial'), ('access', '0002_tokens'), ('access', '0003_client_scopes'), ('access', '0004_revocation_cause_key_compromised'), ('access', '0005_suspension_lifted'), ('access', '0006_client_scopes'), ('access', '0007_conflicts_of_interest'), ('access', '0008_date_bounds'), ('access', '0009_purpose_flag_labels')]

    initial = True

    dependencies = [
        ('auth', '0012_alter_user_first_name_max_length'),
        ('governance', '0001_squashed_0004_pre_restructure'),
        migrations.swappable_dependency(oauth2_settings.APPLICATION_MODEL),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='AccessRequest',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('title', models.CharField(max_length=300, verbose_name='project title')),
                ('lay_summary', models.TextField(blank=True)),
                ('scientific_abstract', models.TextField(blank=True)),
                ('methods_development', models.BooleanField(default=False, verbose_name='methods or algorithm development')),
                ('population_ancestry', models.BooleanField(default=False, verbose_name='population or ancestry research')),
                ('commercial', models.BooleanField(default=False, verbose_name='commercial use')),
                ('for_profit_organisation', models.BooleanField(default=False, verbose_name='carried out by a for-profit organisation')),
                ('clinical_care', models.BooleanField(default=False, verbose_name='clinical care use')),
                ('genetic_study', models.BooleanField(default=False)),
                ('other_purpose', models.TextField(blank=True, help_text='Anything else; always reviewed by a person.', verbose_name='other purpose')),
                ('country', models.CharField(blank=True, help_text='Where the data will be used (ISO code).', max_length=2, validators=[django.core.validators.RegexValidator('^[A-Z]{2}$', 'Use an ISO 3166-1 alpha-2 country code, e.g. NL.')])),
                ('requested_months', models.PositiveSmallIntegerField(default=12, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(60)], verbose_name='requested duration (months)')),
                ('institution', models.CharField(blank=True, max_length=300)),
                ('ethics_reference', models.CharField(blank=True, max_length=200)),
                ('ethics_expiry', models.DateField(blank=True, null=True, verbose_name='ethics approval expires')),
                ('ethics_document', models.FileField(blank=True, upload_to=access.models.ethics_upload_path)),
                ('status', models.CharField(choices=[('draft', 'Draft'), ('submitted', 'Submitted'), ('withdrawn', 'Withdrawn'), ('closed', 'Closed')], db_index=True, default='draft', max_length=16)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('submitted_at', models.DateTimeField(blank=True, null=True)),
                ('last_activity_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                ('applicant', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='access_requests', to=settings.AUTH_USER_MODEL)),
                ('datasets', models.ManyToManyField(related_name='access_requests', to='governance.dataset')),
                ('diseases', models.ManyToManyField(blank=True, help_text='The diseases the research is about (Human Disease Ontology).', limit_choices_to={'ontology': 'DOID'}, related_name='+', to='governance.ontologyterm')),
                ('team_members', models.ManyToManyField(blank=True, related_name='team_requests', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at'],
            },
        ),
        migrations.CreateModel(
            name='AgreementAcceptance',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('accepted_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('agreement', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='acceptances', to='governance.accessagreement')),
                ('request', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='acceptances', to='access.accessrequest')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
        ),
        migrations.CreateModel(
            name='Comment',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('body', models.TextField()),
                ('visibility', models.CharField(choices=[('internal', 'Internal to the committee'), ('public', 'Visible to the applicant')], max_length=8)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('author', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('committee', models.ForeignKey(blank=True, help_text="The committee that wrote it; empty for the applicant's own comments.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='governance.dataaccesscommittee')),
                ('request', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='comments', to='access.accessrequest')),
            ],
            options={
                'ordering': ['created_at'],
            },
        ),
        migrations.CreateModel(
            name='ConsentMatch',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('decision', models.CharField(max_length=8)),
                ('rules', models.JSONField(default=list)),
                ('obligations', models.JSONField(default=list)),
                ('engine_version', models.CharField(max_length=32)),
                ('ontology_version', models.CharField(max_length=200)),
                ('evaluated_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('dataset', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='governance.dataset')),
                ('request', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='matches', to='access.accessrequest')),
            ],
            options={
                'verbose_name_plural': 'consent matches',
            },
        ),
        migrations.CreateModel(
            name='Decision',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('round', models.PositiveSmallIntegerField()),
                ('outcome', models.CharField(choices=[('approve', 'Approve'), ('reject', 'Reject'), ('return', 'Return for changes')], max_length=8)),
                ('decided_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('end_date', models.DateField(blank=True, null=True)),
                ('conditions', models.TextField(blank=True)),
                ('reason', models.TextField(blank=True)),
                ('questions', models.TextField(blank=True)),
                ('agreements', models.ManyToManyField(blank=True, help_text='The agreement versions this approval relies on.', related_name='+', to='governance.accessagreement')),
                ('approved_datasets', models.ManyToManyField(blank=True, related_name='+', to='governance.dataset')),
                ('decided_by', models.ForeignKey(blank=True, help_text="Empty when the system decided under the committee's automatic policy.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['decided_at'],
            },
        ),
        migrations.CreateModel(
            name='Grant',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('valid_from', models.DateTimeField()),
                ('valid_until', models.DateTimeField()),
                ('conditions', models.TextField(blank=True)),
                ('obligations', models.JSONField(blank=True, default=list)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('revoked_at', models.DateTimeField(blank=True, null=True)),
                ('revoked_reason', models.TextField(blank=True)),
                ('dataset', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='grants', to='governance.dataset')),
                ('decision', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='grants', to='access.decision')),
                ('request', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='grants', to='access.accessrequest')),
                ('revoked_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='grants', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-valid_from'],
            },
        ),
        migrations.CreateModel(
            name='Notification',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('submitted', 'Request submitted'), ('returned', 'Request returned for changes'), ('decided', 'Decision taken'), ('revoked', 'Grant revoked'), ('grant_expiring', 'Grant expiring'), ('grant_expired', 'Grant expired'), ('draft_expiring', 'Draft about to expire'), ('draft_expired', 'Draft expired')], max_length=20)),
                ('subject', models.CharField(max_length=200)),
                ('body', models.TextField()),
                ('dedupe_key', models.CharField(max_length=200, unique=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('sent_at', models.DateTimeField(blank=True, db_index=True, null=True)),
                ('attempts', models.PositiveSmallIntegerField(default=0)),
                ('last_error', models.CharField(blank=True, max_length=500)),
                ('next_attempt_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('recipient', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['created_at'],
            },
        ),
        migrations.CreateModel(
            name='Review',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('status', models.CharField(choices=[('submitted', 'Submitted'), ('under_review', 'Under review'), ('returned', 'Returned for changes'), ('resubmitted', 'Resubmitted'), ('approved', 'Approved'), ('rejected', 'Rejected'), ('withdrawn', 'Withdrawn'), ('closed', 'Closed')], db_index=True, default='submitted', max_length=16)),
                ('round', models.PositiveSmallIntegerField(default=1, help_text='Increases at each resubmission.')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('decided_at', models.DateTimeField(blank=True, null=True)),
                ('committee', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='reviews', to='governance.dataaccesscommittee')),
                ('request', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='reviews', to='access.accessrequest')),
            ],
            options={
                'ordering': ['-created_at'],
            },
        ),
        migrations.AddField(
            model_name='decision',
            name='review',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='decisions', to='access.review'),
        ),
        migrations.CreateModel(
            name='ReviewGroupObjectPermission',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('content_object', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='access.review')),
                ('group', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='auth.group')),
                ('permission', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='auth.permission')),
            ],
            options={
                'abstract': False,
            },
        ),
        migrations.CreateModel(
            name='ReviewUserObjectPermission',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('content_object', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='access.review')),
                ('permission', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='auth.permission')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'abstract': False,
            },
        ),
        migrations.CreateModel(
            name='Vote',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('round', models.PositiveSmallIntegerField()),
                ('choice', models.CharField(choices=[('approve', 'Approve'), ('reject', 'Reject'), ('abstain', 'Abstain')], max_length=8)),
                ('rationale', models.TextField()),
                ('cast_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('review', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='votes', to='access.review')),
                ('voter', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['cast_at'],
            },
        ),
        migrations.AddIndex(
            model_name='accessrequest',
            index=models.Index(fields=['applicant', '-created_at'], name='access_acce_applica_9de8bd_idx'),
        ),
        migrations.AddConstraint(
            model_name='agreementacceptance',
            constraint=models.UniqueConstraint(fields=('request', 'user', 'agreement'), name='accept_once'),
        ),
        migrations.AddConstraint(
            model_name='consentmatch',
            constraint=models.UniqueConstraint(fields=('request', 'dataset'), name='one_match_per_dataset'),
        ),
        migrations.AddIndex(
            model_name='grant',
            index=models.Index(fields=['user', 'dataset'], name='access_gran_user_id_855d6d_idx'),
        ),
        migrations.AddIndex(
            model_name='grant',
            index=models.Index(fields=['valid_until'], name='access_gran_valid_u_d30449_idx'),
        ),
        migrations.AddIndex(
            model_name='notification',
            index=models.Index(fields=['sent_at', 'next_attempt_at'], name='access_noti_sent_at_e5af65_idx'),
        ),
        migrations.AddIndex(
            model_name='review',
            index=models.Index(fields=['committee', 'status', '-created_at'], name='access_revi_committ_fae037_idx'),
        ),
        migrations.AddConstraint(
            model_name='review',
            constraint=models.UniqueConstraint(fields=('request', 'committee'), name='one_review_per_committee'),
        ),
        migrations.AlterUniqueTogether(
            name='reviewgroupobjectpermission',
            unique_together={('group', 'permission', 'content_object')},
        ),
        migrations.AlterUniqueTogether(
            name='reviewuserobjectpermission',
            unique_together={('user', 'permission', 'content_object')},
        ),
        migrations.AddConstraint(
            model_name='vote',
            constraint=models.UniqueConstraint(fields=('review', 'voter', 'round'), name='one_vote_per_round'),
        ),
        migrations.CreateModel(
            name='IssuedToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('jti', models.CharField(max_length=64, unique=True)),
                ('kind', models.CharField(choices=[('access', 'Access token (RFC 9068)'), ('visa', 'GA4GH ControlledAccessGrants visa')], max_length=8)),
                ('kid', models.CharField(max_length=64)),
                ('issued_at', models.DateTimeField()),
                ('expires_at', models.DateTimeField()),
                ('revoked_at', models.DateTimeField(blank=True, null=True)),
                ('grant', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='tokens', to='access.grant')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-issued_at'],
            },
        ),
        migrations.CreateModel(
            name='SigningKey',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kid', models.CharField(max_length=64, unique=True)),
                ('alg', models.CharField(max_length=8)),
                ('public_jwk', models.JSONField()),
                ('private_key_encrypted', models.TextField(blank=True)),
                ('state', models.CharField(choices=[('next', 'Next (published, not yet signing)'), ('active', 'Active (signing)'), ('retired', 'Retired (published until its tokens expire)'), ('dropped', 'Dropped (unpublished, private key erased)')], db_index=True, max_length=8)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, help_text='Published in the JWKS.')),
                ('activated_at', models.DateTimeField(blank=True, null=True)),
                ('retired_at', models.DateTimeField(blank=True, null=True)),
                ('dropped_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'ordering': ['-created_at'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('state', 'active')), fields=('state',), name='one_active_signing_key'), models.UniqueConstraint(condition=models.Q(('state', 'next')), fields=('state',), name='one_next_signing_key')],
            },
        ),
        migrations.CreateModel(
            name='Suspension',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reason', models.TextField()),
                ('suspended_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='suspensions', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-suspended_at'],
            },
        ),
        migrations.CreateModel(
            name='TokenRevocation',
            fields=[
                ('cursor', models.BigIntegerField(primary_key=True, serialize=False)),
                ('jti', models.CharField(max_length=64)),
                ('expires_at', models.DateTimeField()),
                ('revoked_at', models.DateTimeField()),
                ('cause', models.CharField(choices=[('grant_revoked', 'Grant revoked'), ('dataset_retired', 'Dataset retired'), ('user_suspended', 'User suspended')], max_length=16)),
                ('token', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='revocation', to='access.issuedtoken')),
            ],
            options={
                'ordering': ['cursor'],
            },
        ),
        migrations.AddIndex(
            model_name='issuedtoken',
            index=models.Index(fields=['grant', 'expires_at'], name='access_issu_grant_i_5845a6_idx'),
        ),
        migrations.AddIndex(
            model_name='issuedtoken',
            index=models.Index(fields=['kid', 'expires_at'], name='access_issu_kid_6b0352_idx'),
        ),
        migrations.AddField(
            model_name='suspension',
            name='lift_reason',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='suspension',
            name='lifted_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='suspension',
            name='lifted_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='tokenrevocation',
            name='cause',
            field=models.CharField(choices=[('grant_revoked', 'Grant revoked'), ('dataset_retired', 'Dataset retired'), ('user_suspended', 'User suspended'), ('key_compromised', 'Signing key compromised')], max_length=16),
        ),
        migrations.CreateModel(
            name='ClientScopes',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('scopes', models.CharField(blank=True, help_text='Space-separated.', max_length=200)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('application', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='client_scopes', to=oauth2_settings.APPLICATION_MODEL)),
            ],
            options={
                'verbose_name': 'OAuth client scopes',
                'verbose_name_plural': 'OAuth client scopes',
            },
        ),
        migrations.CreateModel(
            name='DeputyDecider',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reason', models.TextField()),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('appointed_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('review', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deputies', to='access.review')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='deputy_for', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['created_at'],
                'constraints': [models.UniqueConstraint(fields=('review', 'user'), name='one_deputy_appointment')],
            },
        ),
        migrations.CreateModel(
            name='Recusal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reason', models.TextField()),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('member', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='recusals', to=settings.AUTH_USER_MODEL)),
                ('review', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='recusals', to='access.review')),
            ],
            options={
                'ordering': ['created_at'],
                'constraints': [models.UniqueConstraint(fields=('review', 'member'), name='one_recusal_per_member')],
            },
        ),
        migrations.AlterField(
            model_name='accessrequest',
            name='ethics_expiry',
            field=models.DateField(blank=True, null=True, validators=[core.dates.DateWithinYears(10)], verbose_name='ethics approval expires'),
        ),
        migrations.AlterField(
            model_name='decision',
            name='end_date',
            field=models.DateField(blank=True, null=True, validators=[core.dates.DateWithinYears(10)]),
        ),
        migrations.AlterField(
            model_name='accessrequest',
            name='genetic_study',
            field=models.BooleanField(default=False, verbose_name='genetic study'),
        ),
    ]
